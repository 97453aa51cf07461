package authkit

import "github.com/authkit/authkit/internal/password"

// Hooks for the external tests (package authkit_test). A _test.go file:
// they exist only in the test binary, never in the API.

// CheapHashing makes the kit built from c hash passwords cheaply (argon2id
// at 64 KiB and one pass), new ones and its dummy hash alike. The fuzz
// targets need it: they reach the sign-up and sign-in paths thousands of
// times a second, and at the real 28 ms a hash the fuzzer would crawl. It
// changes c alone, so kits of other tests running meanwhile hash as usual.
func CheapHashing(c *Config) {
	c.test.hashParams = &password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// ManualCourier keeps the kit built from c from starting its courier:
// the messages it records go only when the test calls Kit.Flush, so that
// the test sees a request's store calls alone.
func ManualCourier(c *Config) { c.test.noCourierLoop = true }

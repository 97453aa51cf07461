package authkit

import (
	"testing"

	"github.com/authkit/authkit/internal/password"
)

// Hooks for the external tests (package authkit_test). A _test.go file:
// they exist only in the test binary, never in the API.

// CheapHashingForTest makes password hashing cheap (argon2id at 64 KiB and
// one pass) until tb ends. The fuzz targets need it: they reach the
// sign-up and sign-in paths thousands of times a second, and at the real
// 28 ms a hash the fuzzer would crawl. Kits made meanwhile hash new
// passwords, and make their dummy hash, at that cost.
func CheapHashingForTest(tb testing.TB) {
	tb.Helper()
	saved := passwordParams
	passwordParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	tb.Cleanup(func() { passwordParams = saved })
}

//go:build !unix

package sqlstore_test

import "testing"

// asUnprivileged skips t: the permissions the tests set are POSIX ones.
func asUnprivileged(t *testing.T) bool {
	t.Skip("skipped: the test sets POSIX file permissions")
	return false
}

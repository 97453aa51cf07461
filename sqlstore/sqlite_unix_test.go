//go:build unix

package sqlstore_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// nobody is the user ID that asUnprivileged runs a test as.
const nobody = 65534

// asUnprivileged reports whether the test t should run its body in this
// process: yes unless the process is root, which passes every permission
// check. As root it runs t again in a copy of the test binary as the user
// nobody, fails t if that fails, and returns false; if it cannot, it skips
// t, saying why.
func asUnprivileged(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return true
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	// The go command's build directory is root's alone: copy the binary
	// where nobody may run it, and give nobody a temporary directory.
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	bin := filepath.Join(dir, "sqlstore.test")
	copyFile(t, exe, bin)
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o700))
	require.NoError(t, os.Chown(tmp, nobody, nobody))

	cmd := exec.Command(bin, "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("skipped: running as root, where file permissions are not enforced, and cannot run the test as user %d: %v", nobody, err)
	}
	require.NoError(t, err, "as user %d:\n%s", nobody, out)
	require.Contains(t, string(out), "--- PASS: "+t.Name(), "as user %d:\n%s", nobody, out)
	t.Logf("ran as user %d:\n%s", nobody, strings.TrimSpace(string(out)))
	return false
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
}

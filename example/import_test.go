package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit/sqlstore"
)

// The move from another system, end to end: `authkit users import` makes
// 10,000 accounts from bcrypt hashes in a SQLite file, the example serves
// that file, and 100 of the users sign in through the unchanged Altogic
// client with their old passwords; each of their hashes is then the kit's
// argon2id, and the others' are still bcrypt.
func TestImportedUsersSignInThroughTheClient(t *testing.T) {
	node, dir := altogicSuite(t)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH (%v): the test builds cmd/authkit", err)
	}
	tmp := t.TempDir()
	authkitCmd := filepath.Join(tmp, "authkit")
	if out, err := exec.CommandContext(t.Context(), goCmd, "build", "-o", authkitCmd, "../cmd/authkit").CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/authkit: %v\n%s", err, out)
	}

	// 10,000 users: the first 100 with passwords of their own, the rest
	// sharing one hash (bcrypt at its cheapest: the import keeps hashes
	// as they are, whatever their cost).
	const users, signIns = 10000, 100
	type login struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	var logins []login
	shared, err := bcrypt.GenerateFromPassword([]byte("a shared old password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.Create(filepath.Join(tmp, "users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(file)
	w.Write([]string{"email", "email_verified", "name", "password_hash"})
	for i := range users {
		email, hash := fmt.Sprintf("imported%05d@example.com", i), shared
		if i < signIns {
			pw := fmt.Sprintf("old password number %d", i)
			if hash, err = bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost); err != nil {
				t.Fatal(err)
			}
			logins = append(logins, login{email, pw})
		}
		w.Write([]string{email, "true", fmt.Sprintf("User %d", i), string(hash)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	file.Close()

	db := filepath.Join(tmp, "auth.db")
	for _, args := range [][]string{{"migrate"}, {"users", "import", filepath.Join(tmp, "users.csv")}} {
		cmd := exec.CommandContext(t.Context(), authkitCmd, append([]string{"--db", db}, args...)...)
		cmd.Env = append(os.Environ(), "AUTHKIT_SECRET=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("authkit %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	base := serveClientApp(t, db)
	list, err := json.Marshal(logins)
	if err != nil {
		t.Fatal(err)
	}
	listFile := filepath.Join(tmp, "signins.json")
	if err := os.WriteFile(listFile, list, 0o600); err != nil {
		t.Fatal(err)
	}
	runNode(t, node, dir, "imported.test.mjs", "AUTHKIT_URL="+base, "AUTHKIT_IMPORTED="+listFile)

	store, err := sqlstore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var n int
	if err := store.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM authkit_users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != users {
		t.Errorf("%d users in the database, want %d", n, users)
	}
	for i, email := range []string{logins[0].Email, logins[signIns-1].Email, "imported00100@example.com", fmt.Sprintf("imported%05d@example.com", users-1)} {
		u, err := store.UserByEmail(t.Context(), email)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		signedIn := i < 2
		switch upgraded := strings.HasPrefix(u.PasswordHash, "$argon2id$"); {
		case signedIn && !upgraded:
			t.Errorf("%s signed in, and its hash is still %.7s…", email, u.PasswordHash)
		case !signedIn && !strings.HasPrefix(u.PasswordHash, "$2a$"):
			t.Errorf("%s never signed in, and its hash is %.7s…, not the bcrypt it was imported with", email, u.PasswordHash)
		}
	}
}

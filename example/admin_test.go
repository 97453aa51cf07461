package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authkit/authkit"
)

// signUp signs an address up through the page's calls, confirms it by the
// mailed link, and returns the session token and the grant's answer.
func (r *running) signUp(t *testing.T, email string) (token, body string) {
	t.Helper()
	if status, body := r.call(t, http.MethodPost, "/_api/rest/v1/auth/signup-email", `{"email":"`+email+`","password":"correct horse battery"}`, ""); status != http.StatusOK {
		t.Fatalf("sign-up of %s: %d %s", email, status, body)
	}
	q := r.follow(t, r.nextLink(t, email))
	status, body := r.call(t, http.MethodGet, "/_api/rest/v1/auth/grant?key="+q.Get("access_token"), "", "")
	if status != http.StatusOK {
		t.Fatalf("grant of %s: %d %s", email, status, body)
	}
	return sessionToken(t, body), body
}

// adminUsers calls GET /admin/users with a session token and returns the
// status and the listed emails.
func (r *running) adminUsers(t *testing.T, token string) (int, []string) {
	t.Helper()
	status, body := r.call(t, http.MethodGet, "/admin/users", "", token)
	if status != http.StatusOK {
		return status, nil
	}
	var page struct{ Users []struct{ Email string } }
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("GET /admin/users: %v in %s", err, body)
	}
	var emails []string
	for _, u := range page.Users {
		emails = append(emails, u.Email)
	}
	slices.Sort(emails)
	return status, emails
}

// -admin-email makes that address's sign-up a member of the admin group,
// and GET /admin/users answers only that group.
func TestAdminEmailAtSignUp(t *testing.T) {
	clearSMTPEnv(t)
	o := devOptions()
	o.adminEmail = "Boss@Example.com"
	app := startApp(t, o)
	defer app.stop(t)

	boss, grant := app.signUp(t, "boss@example.com")
	if !strings.Contains(grant, `"accessGroupKeys":["admin"]`) {
		t.Errorf("the admin's session: %s, want accessGroupKeys [admin]", grant)
	}
	ann, grant := app.signUp(t, "ann@example.com")
	if !strings.Contains(grant, `"accessGroupKeys":[]`) {
		t.Errorf("another user's session: %s, want no access groups", grant)
	}

	if status, body := app.call(t, http.MethodGet, "/admin/users", "", ann); status != http.StatusForbidden || !strings.Contains(body, `"code":"forbidden"`) {
		t.Errorf("GET /admin/users as a user: %d %s, want 403 forbidden", status, body)
	}
	if status, body := app.call(t, http.MethodGet, "/admin/users", "", ""); status != http.StatusUnauthorized {
		t.Errorf("GET /admin/users without a session: %d %s, want 401", status, body)
	}
	status, emails := app.adminUsers(t, boss)
	if status != http.StatusOK || !slices.Equal(emails, []string{"ann@example.com", "boss@example.com"}) {
		t.Errorf("GET /admin/users as the admin: %d %v, want 200 and both users", status, emails)
	}
}

// An account of -admin-email that exists already joins the admin group at
// start, and the sessions it had before are let through. An account that
// never confirmed the address gets nothing.
func TestAdminEmailOfAnExistingAccount(t *testing.T) {
	clearSMTPEnv(t)
	o := devOptions()
	o.db = filepath.Join(t.TempDir(), "authkit.db")
	first := startApp(t, o)
	ann, _ := first.signUp(t, "ann@example.com")
	if status, _ := first.adminUsers(t, ann); status != http.StatusForbidden {
		t.Fatalf("GET /admin/users before: %d, want 403", status)
	}
	first.stop(t)

	o.adminEmail = "ANN@example.com"
	app := startApp(t, o)
	defer app.stop(t)
	if status, emails := app.adminUsers(t, ann); status != http.StatusOK || !slices.Equal(emails, []string{"ann@example.com"}) {
		t.Errorf("GET /admin/users after a start with -admin-email: %d %v, want 200", status, emails)
	}

	// Made unconfirmed (an import, or a release before v0.4): whoever
	// made it may not own the address.
	eve, err := app.kit.CreateUser(t.Context(), authkit.NewUser{Email: "eve@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	if err := makeAdmin(t.Context(), app.kit, "eve@example.com", new(string), &log); err != nil {
		t.Fatal(err)
	}
	if u, err := app.kit.User(t.Context(), eve.ID); err != nil || len(u.AccessGroups) != 0 || !strings.Contains(log.String(), "never confirmed") {
		t.Errorf("an unconfirmed account: groups %v, %v, log %q; want none and a warning", u.AccessGroups, err, log.String())
	}

	if err := makeAdmin(t.Context(), app.kit, "nobody@example.com", new(string), io.Discard); err != nil {
		t.Errorf("an address without an account: %v", err)
	}
	if err := makeAdmin(t.Context(), app.kit, "boss", new(string), io.Discard); err == nil || !strings.Contains(err.Error(), "-admin-email") {
		t.Errorf("a malformed address: %v, want an error naming -admin-email", err)
	}
}

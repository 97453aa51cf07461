package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/authkit/authkit"
)

// adminGroup is the access group of the example's administrators, whom
// -admin-email names.
const adminGroup = "admin"

// adminHooks are the kit's hooks for -admin-email: a sign-up of that
// address gets the admin group, if the account will exist only once the
// address is proven (email confirmation is on in the example; an OAuth
// provider's email reaches the hook only when the provider vouches for
// it). *adminEmail is the address as the kit writes it, which
// makeAdmin sets once the kit is made, before any request.
func adminHooks(adminEmail *string) authkit.Hooks {
	return authkit.Hooks{
		BeforeSignUp: func(_ context.Context, s *authkit.SignUp) error {
			if *adminEmail != "" && s.AddressProven && s.Email == *adminEmail {
				s.AccessGroups = append(s.AccessGroups, adminGroup)
			}
			return nil
		},
	}
}

// makeAdmin puts the account of -admin-email, if there is one already, in
// the admin group. An account that never confirmed the address gets
// nothing: whoever made it may not own it.
//
// It sets *canonical to the address as the kit writes it, for adminHooks.
func makeAdmin(ctx context.Context, kit *authkit.Kit, adminEmail string, canonical *string, log io.Writer) error {
	if adminEmail == "" {
		return nil
	}
	email, err := kit.NormalizeEmail(adminEmail)
	if err != nil {
		return fmt.Errorf("-admin-email %q is not an email address", adminEmail)
	}
	*canonical = email
	u, err := kit.FindUser(ctx, email)
	var e *authkit.Error
	switch {
	case errors.As(err, &e) && e.Code == authkit.CodeUserNotFound:
		fmt.Fprintf(log, "%s is an admin once it signs up\n", adminEmail)
		return nil
	case err != nil:
		return fmt.Errorf("-admin-email %q: %w", adminEmail, err)
	case !u.EmailVerified:
		fmt.Fprintf(log, "warning: %s is not an admin: its account never confirmed the address\n", adminEmail)
		return nil
	case slices.Contains(u.AccessGroups, adminGroup):
		return nil
	}
	if _, err := kit.AddAccessGroups(ctx, u.ID, adminGroup); err != nil {
		return fmt.Errorf("-admin-email %q: %w", adminEmail, err)
	}
	fmt.Fprintf(log, "%s is an admin\n", adminEmail)
	return nil
}

// adminUser is a user as GET /admin/users lists it.
type adminUser struct {
	ID           string    `json:"id"`
	Email        string    `json:"email,omitempty"`
	Phone        string    `json:"phone,omitempty"`
	Name         string    `json:"name,omitempty"`
	AccessGroups []string  `json:"accessGroups"`
	Disabled     bool      `json:"disabled"`
	SignUpAt     time.Time `json:"signUpAt"`
}

// adminUsersPage is how many users GET /admin/users lists at once.
const adminUsersPage = 100

// listUsers answers GET /admin/users?after=ID: a page of the users, by
// id, and the after of the next page ("" after the last).
func listUsers(kit *authkit.Kit) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		users, err := kit.ListUsers(r.Context(), r.URL.Query().Get("after"), adminUsersPage)
		if err != nil {
			http.Error(w, "cannot list the users", http.StatusInternalServerError)
			return
		}
		page := struct {
			Users []adminUser `json:"users"`
			Next  string      `json:"next"`
		}{Users: []adminUser{}}
		for _, u := range users {
			page.Users = append(page.Users, adminUser{
				ID: u.ID, Email: u.Email, Phone: u.Phone, Name: u.Name,
				AccessGroups: append([]string{}, u.AccessGroups...), Disabled: u.Disabled, SignUpAt: u.SignUpAt,
			})
		}
		if len(users) == adminUsersPage {
			page.Next = users[len(users)-1].ID
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(page)
	})
}

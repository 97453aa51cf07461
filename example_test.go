package authkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// This example mounts the kit in an app, guards a private route with
// RequireSession, and calls both the way the Altogic client does.
func Example() {
	// The kit keeps its data in memory and records mail instead of sending
	// it; a real app would use sqlstore and smtpmail.
	kit, err := authkit.New(authkit.Config{
		Store:       memstore.New(),
		Mailer:      outbox.New(),
		PublicURL:   "https://api.example.com",
		RedirectURL: "https://app.example.com/signed-in",
		// Sign-up answers with a session at once, without a confirmation link.
		EmailConfirmation: authkit.Off,
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/_api/", kit.Handler())  // the REST API the client calls
	mux.Handle("/_auth/", kit.Handler()) // the links in mail
	mux.Handle("/private", kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := authkit.UserFromContext(r.Context())
		fmt.Fprintf(w, "hello %s <%s>", user.Name, user.Email)
	})))

	srv := httptest.NewServer(mux)
	defer srv.Close()

	// signUpWithEmail("ann@example.com", password, "Ann")
	resp, err := http.Post(srv.URL+"/_api/rest/v1/auth/signup-email", "application/json",
		strings.NewReader(`{"email":"Ann@Example.com","password":"correct horse battery","nameOrUserData":"Ann"}`))
	if err != nil {
		log.Fatal(err)
	}
	var signUp struct {
		User    struct{ Email, Name string }
		Session struct{ Token string }
	}
	err = json.NewDecoder(resp.Body).Decode(&signUp)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, "signed up", signUp.User.Email)

	// The client sends the session token in the Session header.
	call := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/private", nil)
		if token != "" {
			req.Header.Set("Session", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			// Every error is {"errors":[{"origin","code","message"}]}.
			var e struct{ Errors []struct{ Code string } }
			json.NewDecoder(resp.Body).Decode(&e)
			fmt.Println(resp.StatusCode, e.Errors[0].Code)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(body))
	}
	call(signUp.Session.Token)
	call("") // without a session: the error the client signs itself out on

	// Output:
	// 200 signed up ann@example.com
	// 200 hello Ann <ann@example.com>
	// 401 missing_session_token
}

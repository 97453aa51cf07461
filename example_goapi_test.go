package authkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"golang.org/x/crypto/bcrypt"
)

// This example signs a user up and in from Go, without HTTP: a job, a
// test, or a handler of the app's own that takes a form rather than the
// Altogic client's calls.
func ExampleKit_SignInWithEmail() {
	kit, err := authkit.New(authkit.Config{
		Store:             memstore.New(),
		Mailer:            outbox.New(),
		PublicURL:         "https://api.example.com",
		RedirectURL:       "https://app.example.com/signed-in",
		EmailConfirmation: authkit.Off, // sign-up signs in at once
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close(context.Background())

	// Say where the call comes from: its IP counts toward the per-IP
	// limits and is kept with the session. In a handler,
	// kit.RequestContext(r) does this from the request.
	ctx := authkit.WithClient(context.Background(), authkit.Client{
		IP:        "203.0.113.7",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	})

	// The profile is written as a client's would be: "role" is not in
	// Config.ProfileFields, so it is dropped.
	_, err = kit.SignUpWithEmail(ctx, "Ann@Example.com", "correct horse battery",
		map[string]any{"name": "Ann", "role": "admin"})
	if err != nil {
		log.Fatal(err)
	}

	in, err := kit.SignInWithEmail(ctx, "ann@example.com", "correct horse battery")
	if err != nil {
		log.Fatal(err)
	}
	_, hasRole := in.User.Profile["role"]
	fmt.Println(in.User.Email, in.User.Name, "role kept:", hasRole)

	// Errors are *authkit.Error, with the codes of the wire.
	_, err = kit.SignInWithEmail(ctx, "ann@example.com", "not her password")
	var e *authkit.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Code.Status())
	}

	// The token is the client's to keep. Authenticate turns it back into a
	// signed-in context, for the calls made for the user.
	signedIn, err := kit.Authenticate(ctx, in.Token)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := kit.Sessions(signedIn)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range sessions {
		fmt.Println(s.UserAgent.Family, "from", s.IP)
	}

	// Output:
	// ann@example.com Ann role kept: false
	// invalid_credentials 401
	// Firefox from 203.0.113.7
	// Firefox from 203.0.113.7
}

// This example imports a user from another system with the bcrypt hash
// it kept, then signs her in with her password. The kit re-hashes it
// with argon2id at that first sign-in.
func ExampleKit_CreateUser() {
	store := memstore.New()
	kit, err := authkit.New(authkit.Config{
		Store:       store,
		Mailer:      outbox.New(),
		PublicURL:   "https://api.example.com",
		RedirectURL: "https://app.example.com/signed-in",
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close(context.Background())
	ctx := context.Background()

	// What the old system stored.
	oldHash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.DefaultCost)
	if err != nil {
		log.Fatal(err)
	}

	u, err := kit.CreateUser(ctx, authkit.NewUser{
		Email:         "ann@example.com",
		EmailVerified: true, // the old system confirmed it: no link is mailed
		Name:          "Ann",
		PasswordHash:  string(oldHash),
		AccessGroups:  []string{"staff"},
		ServerData:    map[string]json.RawMessage{"legacyId": json.RawMessage(`4711`)},
		SignUpAt:      time.Date(2019, 4, 1, 9, 30, 0, 0, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Email, u.AccessGroups, string(u.ServerData["legacyId"]), u.SignUpAt.Format(time.DateOnly))

	in, err := kit.SignInWithEmail(ctx, "ann@example.com", "correct horse battery")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", in.User.ID == u.ID, in.Session.AccessGroupKeys)

	stored, err := store.UserByID(ctx, u.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("argon2id now:", strings.HasPrefix(stored.PasswordHash, "$argon2id$"))

	// An address another account has is refused.
	_, err = kit.CreateUser(ctx, authkit.NewUser{Email: "ANN@example.com"})
	var e *authkit.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code)
	}

	// Output:
	// ann@example.com [staff] 4711 2019-04-01
	// signed in: true [staff]
	// argon2id now: true
	// email_taken
}

// This example goes through every user a page at a time.
func ExampleKit_ListUsers() {
	kit, err := authkit.New(authkit.Config{
		Store:       memstore.New(),
		Mailer:      outbox.New(),
		PublicURL:   "https://api.example.com",
		RedirectURL: "https://app.example.com/signed-in",
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close(context.Background())
	ctx := context.Background()
	for _, email := range []string{"ann@example.com", "bob@example.com", "cy@example.com"} {
		if _, err := kit.CreateUser(ctx, authkit.NewUser{Email: email, EmailVerified: true}); err != nil {
			log.Fatal(err)
		}
	}

	const pageSize = 2 // up to authkit.MaxUsersPage
	after, total := "", 0
	for {
		page, err := kit.ListUsers(ctx, after, pageSize)
		if err != nil {
			log.Fatal(err)
		}
		total += len(page)
		fmt.Println("a page of", len(page))
		if len(page) < pageSize {
			break
		}
		after = page[len(page)-1].ID
	}
	fmt.Println(total, "users")

	// Output:
	// a page of 2
	// a page of 1
	// 3 users
}

// This example makes sign-up invite-only, puts one invited address in
// the "admin" access group, and sees the new account made when its
// owner follows the confirmation link.
func ExampleHooks() {
	invited := map[string]bool{"ann@example.com": true, "bob@example.com": true}
	box := outbox.New()
	kit, err := authkit.New(authkit.Config{
		Store:       memstore.New(),
		Mailer:      box,
		PublicURL:   "https://api.example.com",
		RedirectURL: "https://app.example.com/signed-in",
		// Email confirmation is on (the default): an account is made only
		// for whoever proves the address, so the hook may trust s.Email.
		DefaultAccessGroups: []string{"member"},
		Hooks: authkit.Hooks{
			BeforeSignUp: func(ctx context.Context, s *authkit.SignUp) error {
				if !invited[s.Email] {
					// Answered 403 {"code":"not_invited",...}, to the
					// client and to the Go API alike.
					return &authkit.Error{Code: "not_invited", Message: "Sign-up is by invitation.", Status: http.StatusForbidden}
				}
				if s.Email == "ann@example.com" {
					s.AccessGroups = append(s.AccessGroups, "admin")
				}
				return nil
			},
			AfterSignUp: func(ctx context.Context, u authkit.User) error {
				// Make the app's own row for the user here. An error is
				// logged; the account stays.
				fmt.Println("account made:", u.Email, u.AccessGroups)
				return nil
			},
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close(context.Background())
	ctx := authkit.WithClient(context.Background(), authkit.Client{IP: "203.0.113.7"})

	_, err = kit.SignUpWithEmail(ctx, "mallory@example.com", "correct horse battery", nil)
	var e *authkit.Error
	if errors.As(err, &e) {
		fmt.Println("mallory:", e.Code, e.Status)
	}

	up, err := kit.SignUpWithEmail(ctx, "ann@example.com", "correct horse battery", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ann waits for her link:", up.Session == nil)

	// Ann follows the link in her mail; the app's page exchanges the
	// access_token it lands with.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := box.Next(wait, "ann@example.com")
	if err != nil {
		log.Fatal(err)
	}
	link := regexp.MustCompile(`https://\S+`).FindString(m.Body)
	rec := httptest.NewRecorder()
	kit.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, link, nil))
	landed, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		log.Fatal(err)
	}
	in, err := kit.ExchangeGrant(ctx, landed.Query().Get("access_token"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ann's session:", in.Session.AccessGroupKeys)

	// Output:
	// mallory: not_invited 403
	// ann waits for her link: true
	// account made: ann@example.com [admin member]
	// ann's session: [admin member]
}

// This example puts a route behind the "admin" access group. A change of
// a user's groups holds from their next request.
func ExampleKit_RequireAccessGroup() {
	kit, err := authkit.New(authkit.Config{
		Store:             memstore.New(),
		Mailer:            outbox.New(),
		PublicURL:         "https://api.example.com",
		RedirectURL:       "https://app.example.com/signed-in",
		EmailConfirmation: authkit.Off,
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/_api/", kit.Handler())
	mux.Handle("GET /admin/users", kit.RequireAccessGroup("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		users, err := kit.ListUsers(r.Context(), "", 100)
		if err != nil {
			http.Error(w, "cannot list users", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d users", len(users))
	})))

	ctx := authkit.WithClient(context.Background(), authkit.Client{IP: "203.0.113.7"})
	ann, err := kit.SignUpWithEmail(ctx, "ann@example.com", "correct horse battery", nil)
	if err != nil {
		log.Fatal(err)
	}
	bob, err := kit.SignUpWithEmail(ctx, "bob@example.com", "correct horse battery", nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := kit.SetAccessGroups(ctx, ann.User.ID, "admin"); err != nil {
		log.Fatal(err)
	}

	call := func(who, token string) {
		req := httptest.NewRequest(http.MethodGet, "/admin/users", nil)
		req.Header.Set("Session", token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			var e struct{ Errors []struct{ Code string } }
			json.NewDecoder(rec.Body).Decode(&e)
			fmt.Println(who, rec.Code, e.Errors[0].Code)
			return
		}
		fmt.Println(who, rec.Code, rec.Body)
	}
	call("bob", bob.Token)
	call("ann", ann.Token)

	// Ann's own session, signed in before, sees the change at once.
	if _, err := kit.SetAccessGroups(ctx, ann.User.ID); err != nil {
		log.Fatal(err)
	}
	call("ann", ann.Token)

	// Output:
	// bob 403 forbidden
	// ann 200 2 users
	// ann 403 forbidden
}

// This example signs in a user whom the app authenticated itself (its
// own single sign-on, here a stub), and hands the session to the browser
// as the session cookie, which RequireSession reads.
func ExampleKit_StartSession() {
	kit, err := authkit.New(authkit.Config{
		Store:       memstore.New(),
		Mailer:      outbox.New(),
		PublicURL:   "https://api.example.com",
		RedirectURL: "https://app.example.com/signed-in",
		Hooks: authkit.Hooks{
			AfterSignIn: func(ctx context.Context, e authkit.SignInEvent) error {
				fmt.Println("signed in by", e.Method)
				return nil
			},
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer kit.Close(context.Background())

	// An account without a password: it signs in through the app.
	if _, err := kit.CreateUser(context.Background(), authkit.NewUser{Email: "ann@example.com", EmailVerified: true}); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /sso/callback", func(w http.ResponseWriter, r *http.Request) {
		// ... the app checks its own single sign-on's answer here ...
		u, err := kit.FindUser(r.Context(), "ann@example.com")
		if err != nil {
			http.Error(w, "no such user", http.StatusForbidden)
			return
		}
		// RequestContext: the session keeps this request's IP and browser.
		in, err := kit.StartSession(kit.RequestContext(r), u.ID)
		if err != nil {
			http.Error(w, "cannot sign in", http.StatusForbidden)
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: authkit.SessionCookie, Value: in.Token, Path: "/",
			Expires: in.Session.ExpiresAt, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
		})
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	})
	mux.Handle("GET /me", kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := authkit.UserFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", u.Email)
	})))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/sso/callback", nil))
	me := httptest.NewRequest(http.MethodGet, "/me", nil)
	for _, c := range rec.Result().Cookies() {
		me.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, me)
	fmt.Println(rec.Code, rec.Body)

	// Output:
	// signed in by host
	// 200 hello ann@example.com
}

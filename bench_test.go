package authkit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// BenchmarkRequireSession measures the middleware on every private request:
// read the token, hash it, look the session and user up, fill the context.
//
//	go test -run '^$' -bench RequireSession -benchmem .
func BenchmarkRequireSession(b *testing.B) {
	kit, token := benchKit(b)
	h := kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := authkit.UserFromContext(r.Context()); !ok {
			b.Fatal("no user in context")
		}
	}))
	r := httptest.NewRequest(http.MethodGet, "/private", nil)
	r.Header.Set("Session", token)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	b.StopTimer()
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// benchKit is a kit with one signed-in user, and that user's token.
func benchKit(b *testing.B) (*authkit.Kit, string) {
	b.Helper()
	kit, err := authkit.New(authkit.Config{
		Store:             memstore.New(),
		Mailer:            outbox.New(),
		PublicURL:         "http://localhost",
		RedirectURL:       "http://localhost/",
		EmailConfirmation: authkit.Off,
		Logger:            discardLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kit.Close(context.Background()) })
	srv := httptest.NewServer(kit.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+api+"signup-email", "application/json",
		stringsReader(`{"email":"bench@example.com","password":"correct horse battery"}`))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Session struct{ Token string }
	}
	if err := jsonDecode(resp.Body, &ans); err != nil || ans.Session.Token == "" {
		b.Fatalf("sign-up: %v (status %d)", err, resp.StatusCode)
	}
	return kit, ans.Session.Token
}

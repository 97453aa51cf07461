//go:build !race

package authkit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authkit/authkit"
)

// RequireSession on memstore allocates what r.WithContext must and no
// more: the caller, which is the request's new context too, and the
// request. (The race detector allocates on its own, hence !race.)
func TestRequireSessionAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*authkit.Config)
	}{{"memstore", nil}, {"memstore cached", withCache}} {
		t.Run(tc.name, func(t *testing.T) { requireSessionAllocs(t, tc.edit) })
	}
}

func requireSessionAllocs(t *testing.T, edit func(*authkit.Config)) {
	kit, token := benchKit(t, edit)
	h := kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := authkit.SessionFromContext(r.Context()); !ok {
			t.Fatal("no session in context")
		}
	}))
	r := httptest.NewRequest(http.MethodGet, "/private", nil)
	r.Header.Set("Session", token)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n > 2 {
		t.Errorf("RequireSession allocates %v times per request, want at most 2", n)
	}
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

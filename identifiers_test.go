package authkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// Accounts stored before today's rules are reported, not merged or
// refused at start: the ones whose email or number the kit would now store
// otherwise or refuse, and the ones whose identifiers now meet. The check
// runs on every store, and changes nothing.
func TestCheckIdentifiers(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			ctx := t.Context()
			now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			for _, u := range []authkit.User{
				{ID: "a1", Email: "ann@example.com"},                         // canonical: no problem
				{ID: "a2", Email: "y@m\u00fcnchen.de"},                       // canonical
				{ID: "a3", Email: "y@xn--mnchen-3ya.de"},                     // y@münchen.de, which a2 has
				{ID: "a4", Email: "ann\u200b@example.com"},                   // refused now
				{ID: "a5", Email: "ren\u00e9@example.com"},                   // a non-ASCII local part, refused by default
				{ID: "a6", Phone: "+15555555555"},                            // canonical
				{ID: "a7", Phone: "+19005550123"},                            // premium rate, refused now
				{ID: "a8", Email: "bob@example.com", Phone: "+447911123456"}, // canonical
			} {
				u.Provider, u.ProviderUserID, u.Stamp, u.SignUpAt, u.LastLoginAt = authkit.ProviderAltogic, u.ID, "s", now, now
				require.NoError(t, s.CreateUser(ctx, u))
			}
			for _, u := range []authkit.User{
				{ID: "o1", Provider: "discord", Email: "eve@example.com"},                      // unvouched, stored by v0.3
				{ID: "o2", Provider: "google", Email: "gail@example.com", EmailVerified: true}, // vouched: no problem
				{ID: "o3", Provider: "facebook", Email: "fr\u200bed@example.com"},              // unvouched, and refused now
			} {
				u.ProviderUserID, u.Stamp, u.SignUpAt, u.LastLoginAt = u.ID, "s", now, now
				require.NoError(t, s.CreateUser(ctx, u))
			}
			kit, err := authkit.New(authkit.Config{
				Store: s, Mailer: outbox.New(), PublicURL: "https://api.example.com", RedirectURL: "https://app.example.com/",
				Logger: discardLogger(),
			})
			require.NoError(t, err)
			problems, err := kit.CheckIdentifiers(ctx)
			require.NoError(t, err)
			require.Equal(t, []authkit.IdentifierProblem{
				{UserID: "a2", Field: "email", Stored: "y@m\u00fcnchen.de", Canonical: "y@m\u00fcnchen.de", SameAs: []string{"a3"}},
				{UserID: "a3", Field: "email", Stored: "y@xn--mnchen-3ya.de", Canonical: "y@m\u00fcnchen.de", SameAs: []string{"a2"}},
				{UserID: "a4", Field: "email", Stored: "ann\u200b@example.com"},
				{UserID: "a5", Field: "email", Stored: "ren\u00e9@example.com"},
				{UserID: "a7", Field: "phone", Stored: "+19005550123"},
				{UserID: "o1", Field: "email", Stored: "eve@example.com", Unvouched: true},
				{UserID: "o3", Field: "email", Stored: "fr\u200bed@example.com", Unvouched: true},
			}, problems)
			_, err = s.UserByID(ctx, "a3")
			require.NoError(t, err, "nothing is changed")
		})
	}
}

// A store that cannot go through its users says so.
func TestCheckIdentifiersNeedsAUserLister(t *testing.T) {
	t.Parallel()
	kit, err := authkit.New(authkit.Config{
		Store: coreOnly{memstore.New()}, Limiter: memstore.New(), Mailer: outbox.New(),
		PublicURL: "https://api.example.com", RedirectURL: "https://app.example.com/", Logger: discardLogger(),
	})
	require.NoError(t, err)
	_, err = kit.CheckIdentifiers(t.Context())
	require.ErrorIs(t, err, authkit.ErrNoUserLister)
}

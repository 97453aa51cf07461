package authkit_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/internal/password"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/sqlstore"
)

// The proofs that a password reset always wins over a sign-in racing it
// (DESIGN §4, no lost updates; the credential stamp). The attacker knows
// the old password and keeps signing in with it while the owner resets;
// what the attacker must end up with is nothing: no working session, and
// an old password that no longer signs in.

// raceStores are the stores the proofs run on: memory, a SQLite file and,
// when their variables name servers, PostgreSQL and MariaDB.
var raceStores = []struct {
	name string
	env  string // the variable that must name a server, if any
	open func(t *testing.T) store
}{
	{"memstore", "", func(*testing.T) store { return memstore.New() }},
	{"sqlite", "", func(t *testing.T) store { return openSQL(t, filepath.Join(t.TempDir(), "authkit.db")) }},
	{"postgres", dbtest.PostgresEnv, func(t *testing.T) store { return openSQL(t, dbtest.Postgres(t)) }},
	{"mysql", dbtest.MySQLEnv, func(t *testing.T) store { return openSQL(t, dbtest.MySQL(t)) }},
}

// store is what the proofs need of a store: the kit's and the limits'.
type store interface {
	authkit.Store
	authkit.Limiter
}

func openSQL(t *testing.T, dsn string) store {
	t.Helper()
	s, err := sqlstore.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// onStore makes a harness serve from s (the harness's own memstore is then
// unused) and count its limits there.
func onStore(s authkit.Store, limits authkit.Limiter) func(*authkit.Config) {
	return func(c *authkit.Config) { c.Store, c.Limiter = s, limits }
}

// interleave is a Store that forces one interleaving of two flows. Armed
// with a step and a method, the next call of that method (a user write or
// a session creation) first runs the step to its end: the step runs after
// the flow in flight read what it read, and before it writes.
type interleave struct {
	authkit.Store
	mu     sync.Mutex
	method string
	step   func()
	ran    atomic.Bool
}

// arm makes the next call of method ("UpdateUser" or "CreateSession")
// run step first. The step's own calls pass through.
func (s *interleave) arm(method string, step func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.method, s.step = method, step
}

func (s *interleave) before(method string) {
	s.mu.Lock()
	step := s.step
	if s.method != method {
		step = nil
	}
	if step != nil {
		s.step = nil
	}
	s.mu.Unlock()
	if step != nil {
		step()
		s.ran.Store(true)
	}
}

func (s *interleave) UpdateUser(ctx context.Context, id string, up authkit.UserUpdate) (authkit.User, error) {
	s.before("UpdateUser")
	return s.Store.UpdateUser(ctx, id, up)
}

func (s *interleave) CreateSession(ctx context.Context, sess authkit.Session) error {
	s.before("CreateSession")
	return s.Store.CreateSession(ctx, sess)
}

const (
	raceEmail = "owner@example.com"
	oldRacePw = "the old password, leaked"
	newRacePw = "the owner's new password"
)

// resetKey asks for a reset link as the owner does, follows it, and
// returns the key resetPwdWithToken takes.
func (h *harness) resetKey(email string) string {
	h.t.Helper()
	require.Equal(h.t, http.StatusOK, h.post(api+"send-reset?email="+email, nil, "").status)
	q := h.follow(h.link(email))
	require.Equal(h.t, "reset-pwd", q.Get("action"))
	return q.Get("access_token")
}

// magicGrant asks for a magic link, follows it, and returns the grant key
// getAuthGrant takes.
func (h *harness) magicGrant(email string) string {
	h.t.Helper()
	require.Equal(h.t, http.StatusOK, h.post(api+"send-magic?email="+email, nil, "").status)
	q := h.follow(h.link(email))
	require.Equal(h.t, "magic-link", q.Get("action"))
	return q.Get("access_token")
}

// weakenHash stores a hash of pw at parameters below today's, as an older
// release (or a bcrypt import) left it: the next sign-in upgrades it.
func weakenHash(t *testing.T, s authkit.Store, email, pw string) {
	t.Helper()
	u, err := s.UserByEmail(context.Background(), email)
	require.NoError(t, err)
	weak, err := password.Hash(rand.Reader, pw, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	require.NoError(t, err)
	_, err = s.UpdateUser(context.Background(), u.ID, authkit.UserUpdate{Set: authkit.UserFields{PasswordHash: &weak}})
	require.NoError(t, err)
}

// A racing sign-in: what it holds before the race (its key, if any), and
// the request it makes.
type racingSignIn struct {
	prepare func(h *harness) string
	signIn  func(h *harness, key string) answer
}

var (
	withOldPassword = racingSignIn{
		prepare: func(*harness) string { return "" },
		signIn:  func(h *harness, _ string) answer { return h.signIn(raceEmail, oldRacePw) },
	}
	// A magic link the attacker got (from a mailbox read once), exchanged
	// just as the owner resets.
	withMagicLink = racingSignIn{
		prepare: func(h *harness) string { return h.magicGrant(raceEmail) },
		signIn:  func(h *harness, key string) answer { return h.grant(key) },
	}
)

// The reset lands between a racing sign-in's read and its write, at each
// write a sign-in makes: the upgrade of a legacy hash, the write of
// lastLoginAt, the creation of the session. Whatever the sign-in answers,
// the attacker holds no working session, the old password is refused and
// the owner's new one works.
func TestResetWinsOverRacingSignIn(t *testing.T) {
	attacks := []struct {
		name   string
		legacy bool   // the stored hash is one the sign-in upgrades
		method string // the write the reset lands before
		racing racingSignIn
	}{
		{"password, reset before lastLoginAt", false, "UpdateUser", withOldPassword},
		{"password, reset before the session", false, "CreateSession", withOldPassword},
		{"password, reset before the hash upgrade", true, "UpdateUser", withOldPassword},
		{"magic link, reset before lastLoginAt", false, "UpdateUser", withMagicLink},
		{"magic link, reset before the session", false, "CreateSession", withMagicLink},
	}
	for _, rs := range raceStores {
		t.Run(rs.name, func(t *testing.T) {
			if rs.env != "" {
				dbtest.Need(t, rs.env)
			}
			for _, a := range attacks {
				t.Run(a.name, func(t *testing.T) {
					testResetRace(t, rs.open(t), a.legacy, a.method, a.racing)
				})
			}
		})
	}
}

func testResetRace(t *testing.T, s store, legacy bool, method string, racing racingSignIn) {
	race := &interleave{Store: s}
	h := newHarness(t, onStore(race, s), generousLimits)
	before := h.confirmedUser(raceEmail, oldRacePw)
	if legacy {
		weakenHash(t, s, raceEmail, oldRacePw)
	}
	key := h.resetKey(raceEmail)
	held := racing.prepare(h)

	race.arm(method, func() {
		a := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": newRacePw}, "")
		require.Equal(t, http.StatusOK, a.status, "the owner's reset: %s", a.raw)
	})
	got := racing.signIn(h, held)
	require.True(t, race.ran.Load(), "the reset ran inside the sign-in")

	if got.status == http.StatusOK {
		require.Equal(t, http.StatusUnauthorized, h.get(api+"user", got.token()).status, "a session the race made is dead")
	} else {
		require.Contains(t, []string{"invalid_credentials", "invalid_token"}, got.code(), "%s", got.raw)
	}
	require.Equal(t, http.StatusUnauthorized, h.get(api+"user", before).status, "the session from before the reset is dead")
	old := h.signIn(raceEmail, oldRacePw)
	require.Equal(t, http.StatusUnauthorized, old.status, "the old password is refused: %s", old.raw)
	require.Equal(t, "invalid_credentials", old.code())
	fresh := h.signIn(raceEmail, newRacePw)
	require.Equal(t, http.StatusOK, fresh.status, "the owner's new password works")
	require.Len(t, h.get(api+"sessions", fresh.token()).list, 1, "the owner's sessions list no session the race made")
}

// The same race with real timing, as an attacker runs it: three clients
// keep signing in with the old password while the owner resets it, and go
// on a while after. Every run, no session any of them got works, and the
// old password is refused.
func TestResetWinsOverSignInLoops(t *testing.T) {
	const runs, clients = 20, 3
	for _, rs := range raceStores[:2] { // memory and SQLite: the timing is the kit's, not the database's
		t.Run(rs.name, func(t *testing.T) {
			for run := range runs {
				s := rs.open(t)
				h := newHarness(t, onStore(s, s), generousLimits)
				h.confirmedUser(raceEmail, oldRacePw)
				key := h.resetKey(raceEmail)

				var (
					stop            atomic.Bool
					reset           atomic.Bool
					mu              sync.Mutex
					tokens          []string
					signedIn, after [clients]atomic.Int32
					wg              sync.WaitGroup
				)
				for c := range clients {
					wg.Go(func() {
						for !stop.Load() {
							resetBefore := reset.Load()
							status, token := signInOnce(h.srv.URL, raceEmail, oldRacePw)
							if status == http.StatusOK {
								mu.Lock()
								tokens = append(tokens, token)
								mu.Unlock()
								signedIn[c].Add(1)
							}
							if resetBefore {
								after[c].Add(1)
							}
						}
					})
				}
				waitFor(t, func() bool { return signedIn[0].Load() > 0 && signedIn[1].Load() > 0 && signedIn[2].Load() > 0 })
				a := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": newRacePw}, "")
				require.Equal(t, http.StatusOK, a.status, "run %d: the owner's reset: %s", run, a.raw)
				reset.Store(true)
				waitFor(t, func() bool { return after[0].Load() > 0 && after[1].Load() > 0 && after[2].Load() > 0 })
				stop.Store(true)
				wg.Wait()

				for _, token := range tokens {
					require.Equal(t, http.StatusUnauthorized, h.get(api+"user", token).status, "run %d: a session made with the old password works", run)
				}
				require.Equal(t, http.StatusUnauthorized, h.signIn(raceEmail, oldRacePw).status, "run %d: the old password signs in", run)
				require.Equal(t, http.StatusOK, h.signIn(raceEmail, newRacePw).status, "run %d: the new password works", run)
			}
		})
	}
}

// signInOnce signs in over HTTP from any goroutine, and returns the status
// and the session token, if any.
func signInOnce(base, email, pw string) (int, string) {
	body := `{"email":"` + email + `","password":"` + pw + `"}`
	resp, err := http.Post(base+api+"signin-email", "application/json", stringsReader(body))
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var a struct {
		Session struct{ Token string } `json:"session"`
	}
	if resp.StatusCode != http.StatusOK || jsonDecode(resp.Body, &a) != nil {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, a.Session.Token
}

// waitFor polls cond until it holds, for at most a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out")
		time.Sleep(time.Millisecond)
	}
}

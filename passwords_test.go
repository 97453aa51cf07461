package authkit_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/internal/password"
)

func TestChangePassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	current := h.confirmedUser("kay@example.com", "correct horse battery")
	other := h.signIn("kay@example.com", "correct horse battery").token()

	wrong := h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": "nope nope nope"}, current)
	require.Equal(t, http.StatusForbidden, wrong.status)
	require.Equal(t, "wrong_password", wrong.code())
	weak := h.post(api+"change-pwd", map[string]any{"newPassword": "password123", "oldPassword": "correct horse battery"}, current)
	require.Equal(t, "password_too_common", weak.code())

	ok := h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": "correct horse battery"}, current)
	require.Equal(t, http.StatusOK, ok.status, "%s", ok.raw)
	require.Equal(t, http.StatusOK, h.get(api+"user", current).status, "the current session lives on")
	require.Equal(t, "invalid_session_token", h.get(api+"user", other).code(), "every other session ends")
	require.Equal(t, "invalid_credentials", h.signIn("kay@example.com", "correct horse battery").code())
	require.Equal(t, http.StatusOK, h.signIn("kay@example.com", "a new long password").status)
}

func TestChangePasswordVoidsLinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tok := h.confirmedUser("lou@example.com", "correct horse battery")
	h.post(api+"send-reset?email=lou@example.com", nil, "")
	link := h.link("lou@example.com")
	h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": "correct horse battery"}, tok)
	require.Equal(t, "invalid_token", h.follow(link).Get("error"))
}

func TestConfigMinPasswordLength(t *testing.T) {
	t.Parallel()
	t.Run("default 8", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		a := h.signUp("seven@example.com", "Zebra42", nil)
		requireStatusCode(t, a, http.StatusBadRequest, "password_too_short")
		require.Equal(t, float64(8), answerDetails(t, a)["minLength"])
		a = h.signUp("eight@example.com", "Zebra42!", nil)
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	})
	t.Run("6, Altogic's", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *authkit.Config) { c.MinPasswordLength = 6 })
		a := h.signUp("five@example.com", "Zeb42", nil)
		requireStatusCode(t, a, http.StatusBadRequest, "password_too_short")
		require.Equal(t, float64(6), answerDetails(t, a)["minLength"])
		require.Equal(t, http.StatusOK, h.signUp("six@example.com", "Zeb42!", nil).status)
	})
	t.Run("counted in characters, not bytes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *authkit.Config) { c.MinPasswordLength = 10 })
		// 9 characters, 18 bytes.
		requireStatusCode(t, h.signUp("short@example.com", strings.Repeat("ü", 9), nil), http.StatusBadRequest, "password_too_short")
	})
}

func TestInputSignInFailuresAlike(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.confirmedUser("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, h.signUp("pending@example.com", inputPassword, nil).status)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(t.Context(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: "google", ProviderUserID: "google-42",
		Email: "oauth@example.com", EmailVerified: true, SignUpAt: now, LastLoginAt: now,
	}))

	cases := []struct{ name, email, password string }{
		{"unknown account", "nobody@example.com", inputPassword},
		{"wrong password", "ann@example.com", "not the password"},
		{"wrong password in another case", "ann@example.com", strings.ToUpper(inputPassword)},
		{"OAuth-only account", "oauth@example.com", inputPassword},
		{"OAuth-only account, empty password", "oauth@example.com", ""},
		{"unconfirmed account, wrong password", "pending@example.com", "not the password"},
	}
	var first answer
	for i, c := range cases {
		a := h.signIn(c.email, c.password)
		requireStatusCode(t, a, http.StatusUnauthorized, "invalid_credentials")
		if i == 0 {
			first = a
			continue
		}
		require.Equal(t, string(first.raw), string(a.raw), "%s answers as %s does", c.name, cases[0].name)
		require.Equal(t, first.header.Get("Content-Type"), a.header.Get("Content-Type"), c.name)
	}
}

// SECURITY 3: a password is taken as typed: any Unicode, spaces at either
// end kept, case kept, 64 characters and more.
func TestPasswordsTakenAsTyped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, generousLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	for i, pw := range []string{
		"  spaced out password  ",
		"pässwörd 🔑 密码 пароль",
		strings.Repeat("0123456789abcdef", 4), // 64
		"Tab\tand\u00a0no-break space",
	} {
		email := "typed" + string(rune('a'+i)) + "@example.com"
		a := h.signUp(email, pw, nil)
		require.Equal(t, http.StatusOK, a.status, "%q: %s", pw, a.raw)
		require.Equal(t, http.StatusOK, h.signIn(email, pw).status, "%q signs in as typed", pw)
		for _, other := range []string{strings.TrimSpace(pw), strings.ToUpper(pw), strings.ToLower(pw), pw + " ", " " + pw} {
			if other != pw {
				requireStatusCode(t, h.signIn(email, other), http.StatusUnauthorized, "invalid_credentials")
			}
		}
	}
}

// SECURITY 2: a legacy bcrypt hash signs in and is replaced by argon2id.
func TestBcryptHashIsUpgraded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	legacy, err := bcrypt.GenerateFromPassword([]byte("an old password"), bcrypt.MinCost)
	require.NoError(t, err)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: authkit.ProviderAltogic, ProviderUserID: "0123456789abcdef01234567",
		Email: "uma@example.com", EmailVerified: true, PasswordHash: string(legacy), SignUpAt: now, LastLoginAt: now,
	}))
	require.Equal(t, http.StatusOK, h.signIn("uma@example.com", "an old password").status)
	u, err := h.store.UserByEmail(context.Background(), "uma@example.com")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$"), u.PasswordHash)
	require.Equal(t, http.StatusOK, h.signIn("uma@example.com", "an old password").status)
}

// SECURITY 2: an argon2id hash stored with weaker parameters than today's
// is replaced on the next sign-in with the right password, and on no
// other (TestBcryptHashIsUpgraded does it for bcrypt).
func TestWeakArgon2HashIsUpgraded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, generousLimits)
	weak, err := password.Hash(rand.Reader, inputPassword, password.Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	require.NoError(t, err)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: authkit.ProviderAltogic, ProviderUserID: "0123456789abcdef01234567",
		Email: "wes@example.com", EmailVerified: true, PasswordHash: weak, SignUpAt: now, LastLoginAt: now,
	}))
	stored := func() string {
		u, err := h.store.UserByEmail(context.Background(), "wes@example.com")
		require.NoError(t, err)
		return u.PasswordHash
	}
	requireStatusCode(t, h.signIn("wes@example.com", "not the password"), http.StatusUnauthorized, "invalid_credentials")
	require.Equal(t, weak, stored(), "a wrong password upgrades nothing")
	require.Equal(t, http.StatusOK, h.signIn("wes@example.com", inputPassword).status)
	require.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$`, stored())
	require.Equal(t, http.StatusOK, h.signIn("wes@example.com", inputPassword).status, "the new hash works")
}

// The proofs that a password reset always wins over a sign-in racing it
// (DESIGN §4, no lost updates; the credential stamp). The attacker knows
// the old password and keeps signing in with it while the owner resets;
// what the attacker must end up with is nothing: no working session, and
// an old password that no longer signs in.

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
	t.Parallel()
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
			t.Parallel()
			if rs.env != "" {
				dbtest.Need(t, rs.env)
			}
			for _, a := range attacks {
				t.Run(a.name, func(t *testing.T) {
					t.Parallel()
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
	// Not parallel: its race is timed by the kit alone, so other tests' load must not stretch or skew it.
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

// A flood of requests that hash cannot queue every other request behind it
// for seconds: a request that waits longer than MaxHashWait for a hashing
// slot answers 503 service_unavailable with Retry-After. (Found by an
// adversarial review: a legitimate sign-in went from 30 ms to 3–5 s, and
// the wait had no bound.)
func TestHashingWaitIsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noLimits, func(c *authkit.Config) {
		c.MaxConcurrentHashes, c.MaxHashWait = 1, 20*time.Millisecond
	})
	h.confirmedUser("flood@example.com", "correct horse battery")
	var mu sync.Mutex
	statuses := map[int]int{}
	var busy struct {
		header http.Header
		body   string
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			// Not through h.do, which holds every 5xx for a failure.
			resp, err := http.Post(h.srv.URL+api+"signin-email", "application/json",
				strings.NewReader(`{"email":"flood@example.com","password":"not the password at all"}`))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.StatusCode]++
			if resp.StatusCode == http.StatusServiceUnavailable {
				busy.header, busy.body = resp.Header, string(raw)
			}
		})
	}
	wg.Wait()
	require.Positive(t, statuses[http.StatusServiceUnavailable], "some waited too long: %v", statuses)
	require.Equal(t, 16, statuses[http.StatusServiceUnavailable]+statuses[http.StatusUnauthorized], "%v", statuses)
	require.Contains(t, busy.body, `"code":"service_unavailable"`)
	require.Equal(t, "1", busy.header.Get("Retry-After"))
}

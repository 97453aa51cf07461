package authkit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// Passkeys (Config.Passkeys): registration, sign-in with a passkey alone,
// a passkey as the second factor, and their management. SECURITY 98 to
// 109. The authenticator is a software one (softKey): ECDSA P-256,
// attestation "none", answers built as a browser and an authenticator
// build them.

const (
	passkeyRPID   = "example.com"
	passkeyOrigin = "https://app.example.com"
)

// passkeysOn turns passkeys on (with MFA, which they need).
func passkeysOn(c *authkit.Config) {
	mfaOn(c)
	c.Passkeys = authkit.Passkeys{RPID: passkeyRPID, Origins: []string{passkeyOrigin}}
}

func newPasskeyHarness(t *testing.T, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	return newMFAHarness(t, append([]func(*authkit.Config){passkeysOn}, edit...)...)
}

var b64 = base64.RawURLEncoding

// softKey is a software authenticator holding one discoverable
// credential. rpID and origin are what it and its "browser" put in their
// answers; count is its signature counter, moved by each assertion.
type softKey struct {
	t          *testing.T
	rpID       string
	origin     string
	id         []byte
	key        *ecdsa.PrivateKey
	userHandle []byte
	count      uint32
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	id := make([]byte, 32)
	_, err = rand.Read(id)
	require.NoError(t, err)
	return &softKey{t: t, rpID: passkeyRPID, origin: passkeyOrigin, id: id, key: key}
}

// publicKeyOptions is the publicKey member of a ceremony's options.
func publicKeyOptions(t *testing.T, a answer) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	opts, _ := a.body["options"].(map[string]any)
	pk, _ := opts["publicKey"].(map[string]any)
	require.NotNil(t, pk, "%s", a.raw)
	require.Equal(t, float64(300), a.body["expiresIn"])
	require.Len(t, a.body["handle"], 43, "a handle carries 256 bits")
	return pk
}

func (k *softKey) clientData(typ, challenge string) []byte {
	cd, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	require.NoError(k.t, err)
	return cd
}

func (k *softKey) authData(flags byte, extra []byte) []byte {
	h := sha256.Sum256([]byte(k.rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	return append(out, extra...)
}

// create answers navigator.credentials.create for the options of a
// register/begin answer.
func (k *softKey) create(begin answer) json.RawMessage {
	k.t.Helper()
	pk := publicKeyOptions(k.t, begin)
	user := pk["user"].(map[string]any)
	var err error
	k.userHandle, err = b64.DecodeString(user["id"].(string))
	require.NoError(k.t, err)
	sel := pk["authenticatorSelection"].(map[string]any)
	require.Equal(k.t, "required", sel["residentKey"], "a passkey is a discoverable credential")
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: k.key.X.FillBytes(make([]byte, 32)), -3: k.key.Y.FillBytes(make([]byte, 32))})
	require.NoError(k.t, err)
	attested := make([]byte, 16) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(append(attested, k.id...), cose...)
	obj, err := webauthncbor.Marshal(map[string]any{
		"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(0x45, attested), // UP, UV, AT
	})
	require.NoError(k.t, err)
	cred, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData("webauthn.create", pk["challenge"].(string))),
			"attestationObject": b64.EncodeToString(obj),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	require.NoError(k.t, err)
	return cred
}

// get answers navigator.credentials.get for the options of a begin
// answer, with the counter moved on by one.
func (k *softKey) get(begin answer) json.RawMessage {
	k.t.Helper()
	pk := publicKeyOptions(k.t, begin)
	k.count++
	return k.assert(pk["challenge"].(string), 0x05) // UP, UV
}

// assert is an assertion of challenge with the given flags at the
// current count.
func (k *softKey) assert(challenge string, flags byte) json.RawMessage {
	k.t.Helper()
	cd := k.clientData("webauthn.get", challenge)
	ad := k.authData(flags, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...)) // ES256 signs authData || hash(clientDataJSON)
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	require.NoError(k.t, err)
	cred, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
	require.NoError(k.t, err)
	return cred
}

// registerPasskey registers k for the session token and returns the
// finish answer.
func (h *harness) registerPasskey(token string, k *softKey, name string) answer {
	h.t.Helper()
	h.clock.Advance(time.Second) // lists are by registration time
	begin := h.post(api+"passkeys/register/begin", nil, token)
	cred := k.create(begin)
	return h.post(api+"passkeys/register/finish", map[string]any{"handle": begin.body["handle"], "credential": cred, "name": name}, token)
}

// passkeySignIn signs in with k alone.
func (h *harness) passkeySignIn(k *softKey) answer {
	h.t.Helper()
	begin := h.post(api+"passkeys/signin/begin", nil, "")
	return h.post(api+"passkeys/signin/finish", map[string]any{"handle": begin.body["handle"], "credential": k.get(begin)}, "")
}

// passkeyUser is a signed-up user with one passkey: its session token
// and the passkey's recovery codes.
func (h *harness) passkeyUser(email string) (token string, k *softKey, codes []string) {
	h.t.Helper()
	up := h.signUp(email, inputPassword, nil)
	require.Equal(h.t, http.StatusOK, up.status, "%s", up.raw)
	k = newSoftKey(h.t)
	reg := h.registerPasskey(up.token(), k, "Laptop")
	require.Equal(h.t, http.StatusOK, reg.status, "%s", reg.raw)
	for _, c := range reg.body["recoveryCodes"].([]any) {
		codes = append(codes, c.(string))
	}
	return up.token(), k, codes
}

// SECURITY 98: a signed-in user registers a passkey (a discoverable
// credential, excluding the user's own); the first one brings ten
// recovery codes, once, and fires AfterFactorChange. The passkey then
// signs in alone, with a session of two factors.
func TestPasskeyRegistrationAndPasswordlessSignIn(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	var methods []authkit.SignInMethod
	h := newPasskeyHarness(t, func(c *authkit.Config) {
		c.Hooks.AfterFactorChange = func(_ context.Context, u authkit.User, kind authkit.FactorKind, active bool) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, string(kind)+map[bool]string{true: "+", false: "-"}[active])
			return nil
		}
		c.Hooks.AfterSignIn = func(_ context.Context, e authkit.SignInEvent) error {
			mu.Lock()
			defer mu.Unlock()
			methods = append(methods, e.Method)
			return nil
		}
	})
	token, k, codes := h.passkeyUser("ann@example.com")
	require.Len(t, codes, 10)
	for _, c := range codes {
		require.Regexp(t, recoveryCodeShape, c)
	}
	require.Equal(t, []string{"passkey+"}, events)

	list := h.get(api+"passkeys", token)
	require.Equal(t, http.StatusOK, list.status, "%s", list.raw)
	require.Len(t, list.list, 1)
	p := list.list[0].(map[string]any)
	require.Equal(t, "Laptop", p["name"])
	require.Nil(t, p["lastUsedAt"])

	// The account has a second factor now: a session of one factor adds
	// no passkey (a passkey signs in alone); one that proved it does.
	requireStatusCode(t, h.post(api+"passkeys/register/begin", nil, token), http.StatusForbidden, "mfa_step_up_required")
	token = h.passkeySignIn(k).token()

	// A second registration excludes the first passkey, and brings no
	// codes.
	begin := h.post(api+"passkeys/register/begin", nil, token)
	exclude := publicKeyOptions(t, begin)["excludeCredentials"].([]any)
	require.Len(t, exclude, 1)
	require.Equal(t, b64.EncodeToString(k.id), exclude[0].(map[string]any)["id"])
	k2 := newSoftKey(t)
	reg := h.post(api+"passkeys/register/finish", map[string]any{"handle": begin.body["handle"], "credential": k2.create(begin)}, token)
	require.Equal(t, http.StatusOK, reg.status, "%s", reg.raw)
	require.Nil(t, reg.body["recoveryCodes"], "codes come with the first factor only")

	// The same credential again is refused.
	again := h.registerPasskey(token, k2, "")
	requireStatusCode(t, again, http.StatusBadRequest, "invalid_passkey")

	in := h.passkeySignIn(k)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, 2, h.factorsOf(in.token()), "a passkey verifies its user: two factors")
	require.Equal(t, "ann@example.com", in.user()["email"])
	require.Equal(t, http.StatusOK, h.get(api+"user", in.token()).status)
	require.Contains(t, methods, authkit.MethodPasskey)
	list = h.get(api+"passkeys", in.token())
	for _, p := range list.list {
		p := p.(map[string]any)
		require.Equal(t, p["name"] == "Laptop", p["lastUsedAt"] != nil, "only the passkey used has been used")
	}
}

// SECURITY 99: a user with a passkey gets mfa_required from a password
// sign-in; the ticket's passkey assertion signs in with two factors,
// once. A recovery code does too, for a user with no authenticator app.
func TestPasskeyAsSecondFactor(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	_, k, codes := h.passkeyUser("bob@example.com")

	first := h.signIn("bob@example.com", inputPassword)
	ticket := mfaTicket(t, first)
	require.Equal(t, true, answerDetails(t, first)["passkey"], "the app is told to offer the passkey")
	begin := h.post(api+"passkeys/verify/begin", map[string]any{"ticket": ticket}, "")
	allow := publicKeyOptions(t, begin)["allowCredentials"].([]any)
	require.Len(t, allow, 1, "the ticket's user's passkeys")
	finish := map[string]any{"ticket": ticket, "handle": begin.body["handle"], "credential": k.get(begin)}
	in := h.post(api+"passkeys/verify/finish", finish, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, 2, h.factorsOf(in.token()))

	// The ticket is spent.
	requireStatusCode(t, h.post(api+"passkeys/verify/begin", map[string]any{"ticket": ticket}, ""), http.StatusBadRequest, "invalid_token")

	// A handle begun for one ticket does not serve another.
	t1 := mfaTicket(t, h.signIn("bob@example.com", inputPassword))
	b1 := h.post(api+"passkeys/verify/begin", map[string]any{"ticket": t1}, "")
	t2 := mfaTicket(t, h.signIn("bob@example.com", inputPassword))
	cross := h.post(api+"passkeys/verify/finish", map[string]any{"ticket": t2, "handle": b1.body["handle"], "credential": k.get(b1)}, "")
	requireStatusCode(t, cross, http.StatusBadRequest, "invalid_passkey")

	// A recovery code finishes a sign-in of a passkey-only user.
	ok := h.verifyMFA(t2, codes[0])
	require.Equal(t, http.StatusOK, ok.status, "%s", ok.raw)
	// A TOTP-shaped code has no authenticator to match.
	t3 := mfaTicket(t, h.signIn("bob@example.com", inputPassword))
	requireStatusCode(t, h.verifyMFA(t3, "123456"), http.StatusBadRequest, "invalid_code")
}

// SECURITY 100: a ceremony's challenge is spent by its finish, right or
// wrong: a replayed assertion, or a second finish with the handle, is
// refused, and an assertion of another challenge is refused.
func TestPasskeyReplayRefused(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	_, k, _ := h.passkeyUser("cat@example.com")

	begin := h.post(api+"passkeys/signin/begin", nil, "")
	cred := k.get(begin)
	body := map[string]any{"handle": begin.body["handle"], "credential": cred}
	require.Equal(t, http.StatusOK, h.post(api+"passkeys/signin/finish", body, "").status)
	requireStatusCode(t, h.post(api+"passkeys/signin/finish", body, ""), http.StatusBadRequest, "invalid_passkey")

	// The same assertion under a new handle: another challenge.
	next := h.post(api+"passkeys/signin/begin", nil, "")
	replay := h.post(api+"passkeys/signin/finish", map[string]any{"handle": next.body["handle"], "credential": cred}, "")
	requireStatusCode(t, replay, http.StatusBadRequest, "invalid_passkey")
	// ... which spent that handle too.
	k.count++
	late := k.assert(publicKeyOptions(t, next)["challenge"].(string), 0x05)
	requireStatusCode(t, h.post(api+"passkeys/signin/finish", map[string]any{"handle": next.body["handle"], "credential": late}, ""), http.StatusBadRequest, "invalid_passkey")

	// Challenges expire after five minutes.
	old := h.post(api+"passkeys/signin/begin", nil, "")
	h.clock.Advance(5*60*1e9 + 1e9)
	requireStatusCode(t, h.post(api+"passkeys/signin/finish", map[string]any{"handle": old.body["handle"], "credential": k.get(old)}, ""), http.StatusBadRequest, "invalid_passkey")
}

// SECURITY 101: an assertion made for another relying party id, or
// signed on a page of another origin, is refused.
func TestPasskeyOtherRPIDOrOriginRefused(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	_, k, _ := h.passkeyUser("dan@example.com")

	k.rpID = "evil.example"
	requireStatusCode(t, h.passkeySignIn(k), http.StatusBadRequest, "invalid_passkey")
	k.rpID = passkeyRPID
	k.origin = "https://evil.example"
	requireStatusCode(t, h.passkeySignIn(k), http.StatusBadRequest, "invalid_passkey")
	k.origin = "https://app.example.com.evil.example"
	requireStatusCode(t, h.passkeySignIn(k), http.StatusBadRequest, "invalid_passkey")
	k.origin = passkeyOrigin
	require.Equal(t, http.StatusOK, h.passkeySignIn(k).status)

	// A registration from another origin is refused too.
	up := h.signUp("eve@example.com", inputPassword, nil)
	other := newSoftKey(t)
	other.origin = "https://evil.example"
	requireStatusCode(t, h.registerPasskey(up.token(), other, ""), http.StatusBadRequest, "invalid_passkey")
}

// SECURITY 102: the signature counter is kept; an assertion whose counter
// does not move forward (a cloned authenticator) is refused and logged.
func TestPasskeyCounterBackwardsRefused(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	h := newPasskeyHarness(t, func(c *authkit.Config) { c.Logger = timelessLogger(logs) })
	_, k, _ := h.passkeyUser("fay@example.com")

	k.count = 9
	require.Equal(t, http.StatusOK, h.passkeySignIn(k).status) // 10
	k.count = 4
	requireStatusCode(t, h.passkeySignIn(k), http.StatusBadRequest, "invalid_passkey") // 5
	require.Contains(t, logs.String(), "signature counter went back")
	k.count = 9
	requireStatusCode(t, h.passkeySignIn(k), http.StatusBadRequest, "invalid_passkey") // 10 again
	require.Equal(t, http.StatusOK, h.passkeySignIn(k).status)                         // 11
	for _, secret := range []string{b64.EncodeToString(k.id), inputPassword} {
		require.NotContains(t, logs.String(), secret, "no secret is logged")
	}
}

// SECURITY 103: removing the user's last second factor needs a recent
// one: a session that proved it within RecentFactor, or a recovery code
// or a passkey confirmation in the call; without, 403
// mfa_step_up_required. The recovery codes go with it.
func TestPasskeyRemoveLastFactorNeedsRecentFactor(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	token, k, codes := h.passkeyUser("gus@example.com")
	id := h.get(api+"passkeys", token).list[0].(map[string]any)["id"]

	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": id}, token), http.StatusForbidden, "mfa_step_up_required")
	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": id, "code": "AAAAA-AAAAA"}, token), http.StatusBadRequest, "invalid_code")
	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": id, "code": "123456"}, token), http.StatusBadRequest, "invalid_code")
	// Another user's confirmation is not this user's.
	otherToken, other, _ := h.passkeyUser("hal@example.com")
	ob := h.post(api+"passkeys/confirm/begin", nil, otherToken)
	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": id, "handle": ob.body["handle"], "credential": other.get(ob)}, token), http.StatusBadRequest, "invalid_passkey")

	cb := h.post(api+"passkeys/confirm/begin", nil, token)
	rm := h.post(api+"passkeys/remove", map[string]any{"id": id, "handle": cb.body["handle"], "credential": k.get(cb)}, token)
	require.Equal(t, http.StatusOK, rm.status, "%s", rm.raw)
	require.Empty(t, h.get(api+"passkeys", token).list)

	// One factor again.
	in := h.signIn("gus@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	// The recovery codes went with it: a new passkey brings new ones, and
	// an old one finishes no sign-in.
	k2 := newSoftKey(t)
	require.Equal(t, http.StatusOK, h.registerPasskey(token, k2, "").status)
	ticket := mfaTicket(t, h.signIn("gus@example.com", inputPassword))
	requireStatusCode(t, h.verifyMFA(ticket, codes[0]), http.StatusBadRequest, "invalid_code")

	// A recovery code is proof too.
	token2, _, codes2 := h.passkeyUser("ida@example.com")
	id2 := h.get(api+"passkeys", token2).list[0].(map[string]any)["id"]
	require.Equal(t, http.StatusOK, h.post(api+"passkeys/remove", map[string]any{"id": id2, "code": codes2[0]}, token2).status)

	// So is a session that proved the passkey within RecentFactor, and
	// only then.
	_, k3, _ := h.passkeyUser("joe@example.com")
	recent := h.passkeySignIn(k3).token()
	h.clock.Advance(11 * time.Minute)
	id3 := h.get(api+"passkeys", recent).list[0].(map[string]any)["id"]
	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": id3}, recent), http.StatusForbidden, "mfa_step_up_required")
	fresh := h.passkeySignIn(k3).token()
	require.Equal(t, http.StatusOK, h.post(api+"passkeys/remove", map[string]any{"id": id3}, fresh).status)
}

// SECURITY 103: removing any passkey, not only the last factor, is a
// credential change. An attacker holding a session the owner opened
// before enrolling tries to thin the owner's factors out by removing a
// passkey while the authenticator app remains: refused without a recent
// second factor, and a wrong app code is invalid_code; the passkey stays.
// A code from the app in the call is the proof that lets it through.
func TestPasskeyRemoveAnyNeedsRecentFactor(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t, noLimits)
	stolen := h.signUp("amy@example.com", inputPassword, nil).token()
	owner := h.signIn("amy@example.com", inputPassword).token()
	secret, _ := h.enrolTOTP(owner)
	up := h.post(api+"mfa/step-up", map[string]any{"code": totpCode(t, secret, h.now())}, owner)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	require.Equal(t, http.StatusOK, h.registerPasskey(up.token(), newSoftKey(t), "Laptop").status)
	id := h.get(api+"passkeys", stolen).list[0].(map[string]any)["id"]

	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": id}, stolen), http.StatusForbidden, "mfa_step_up_required")
	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": id, "code": wrongCode(totpCode(t, secret, h.now()))}, stolen), http.StatusBadRequest, "invalid_code")
	owner = up.token() // the step-up replaced the owner's session
	require.Len(t, h.get(api+"passkeys", owner).list, 1, "the attacker removed nothing")

	h.clock.Advance(30 * time.Second)
	rm := h.post(api+"passkeys/remove", map[string]any{"id": id, "code": totpCode(t, secret, h.now())}, stolen)
	require.Equal(t, http.StatusOK, rm.status, "with a code from the app, even an old session may: %s", rm.raw)
	require.Empty(t, h.get(api+"passkeys", owner).list)
	mfaTicket(t, h.signIn("amy@example.com", inputPassword)) // the app is still asked for
}

// SECURITY 103: an attacker holding a session the owner opened before
// registering a passkey tries to add an authenticator app of her own,
// which would stand in for the owner's passkey at her next sign-in with
// the password: refused with mfa_step_up_required, and the account's
// sign-in still asks for the passkey alone. The owner, stepped up with
// the passkey, adds an app.
func TestTOTPEnrolmentBesidePasskeyNeedsRecentFactor(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t, noLimits)
	stolen := h.signUp("pia@example.com", inputPassword, nil).token()
	owner := h.signIn("pia@example.com", inputPassword).token()
	k := newSoftKey(t)
	require.Equal(t, http.StatusOK, h.registerPasskey(owner, k, "Laptop").status)

	requireStatusCode(t, h.post(api+"mfa/totp/enrol", nil, stolen), http.StatusForbidden, "mfa_step_up_required")
	ticket := mfaTicket(t, h.signIn("pia@example.com", inputPassword))
	requireStatusCode(t, h.verifyMFA(ticket, "123456"), http.StatusBadRequest, "invalid_code")

	cb := h.post(api+"passkeys/confirm/begin", nil, owner)
	up := h.post(api+"passkeys/step-up", map[string]any{"handle": cb.body["handle"], "credential": k.get(cb)}, owner)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	h.enrolTOTP(up.token())
}

// SECURITY 103: a user with passkeys and no authenticator app steps a
// one-factor session up with a passkey (passkeys/step-up) or a recovery
// code (mfa/step-up), as the credential changes demand; the old session
// ends.
func TestPasskeyStepUp(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	token, k, codes := h.passkeyUser("kay@example.com")
	change := map[string]any{"oldPassword": inputPassword, "newPassword": "another good password"}
	requireStatusCode(t, h.post(api+"change-pwd", change, token), http.StatusForbidden, "mfa_step_up_required")

	cb := h.post(api+"passkeys/confirm/begin", nil, token)
	requireStatusCode(t, h.post(api+"passkeys/step-up", map[string]any{"handle": cb.body["handle"], "credential": newSoftKey(t).get(cb)}, token), http.StatusBadRequest, "invalid_passkey")
	cb = h.post(api+"passkeys/confirm/begin", nil, token)
	up := h.post(api+"passkeys/step-up", map[string]any{"handle": cb.body["handle"], "credential": k.get(cb)}, token)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	require.Equal(t, 2, h.factorsOf(up.token()))
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")
	require.Equal(t, http.StatusOK, h.post(api+"change-pwd", change, up.token()).status)

	// A recovery code steps up too.
	h.clock.Advance(11 * time.Minute)
	requireStatusCode(t, h.post(api+"change-pwd", map[string]any{"oldPassword": "another good password", "newPassword": inputPassword}, up.token()), http.StatusForbidden, "mfa_step_up_required")
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{"code": "123456"}, up.token()), http.StatusBadRequest, "invalid_code")
	byCode := h.post(api+"mfa/step-up", map[string]any{"code": codes[0]}, up.token())
	require.Equal(t, http.StatusOK, byCode.status, "%s", byCode.raw)
	require.Equal(t, 2, h.factorsOf(byCode.token()))
}

// SECURITY 104: a disabled user's passkey signs nobody in; the answer
// user_disabled goes only to whoever proved the passkey.
func TestPasskeyDisabledUserRefused(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	_, k, _ := h.passkeyUser("jim@example.com")
	require.NoError(t, h.kit.DisableUser(t.Context(), h.userID("jim@example.com")))
	requireStatusCode(t, h.passkeySignIn(k), http.StatusForbidden, "user_disabled")
	stranger := newSoftKey(t)
	stranger.userHandle = []byte(h.userID("jim@example.com"))
	requireStatusCode(t, h.passkeySignIn(stranger), http.StatusBadRequest, "invalid_passkey")
}

// SECURITY 105: a user lists, renames and removes their own passkeys; a
// passkey of another user's is not found, whatever the route.
func TestPasskeyListRenameRemove(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	_, k, _ := h.passkeyUser("kim@example.com")
	token := h.passkeySignIn(k).token()
	k2 := newSoftKey(t)
	require.Equal(t, http.StatusOK, h.registerPasskey(token, k2, "Phone").status)
	list := h.get(api+"passkeys", token).list
	require.Len(t, list, 2)
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	require.Equal(t, "Laptop", first["name"])
	require.Equal(t, "Phone", second["name"])

	require.Equal(t, http.StatusOK, h.post(api+"passkeys/rename", map[string]any{"id": first["id"], "name": "Work laptop"}, token).status)
	require.Equal(t, "Work laptop", h.get(api+"passkeys", token).list[0].(map[string]any)["name"])
	requireStatusCode(t, h.post(api+"passkeys/rename", map[string]any{"id": first["id"], "name": strings.Repeat("x", 65)}, token), http.StatusBadRequest, "invalid_name")
	requireStatusCode(t, h.post(api+"passkeys/rename", map[string]any{"id": first["id"], "name": "a\nb"}, token), http.StatusBadRequest, "invalid_name")

	otherToken, _, _ := h.passkeyUser("lou@example.com")
	requireStatusCode(t, h.post(api+"passkeys/rename", map[string]any{"id": first["id"], "name": "x"}, otherToken), http.StatusNotFound, "passkey_not_found")
	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": first["id"]}, otherToken), http.StatusNotFound, "passkey_not_found")
	requireStatusCode(t, h.post(api+"passkeys/remove", map[string]any{"id": "nope"}, token), http.StatusNotFound, "passkey_not_found")

	// Not the last factor: no proof needed.
	require.Equal(t, http.StatusOK, h.post(api+"passkeys/remove", map[string]any{"id": second["id"]}, token).status)
	require.Len(t, h.get(api+"passkeys", token).list, 1)
}

// SECURITY 106: bad input gets a 4xx JSON answer, never a 500.
func TestPasskeyBadInput(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	token, k, _ := h.passkeyUser("max@example.com")

	begin := h.post(api+"passkeys/signin/begin", nil, "")
	for _, cred := range []any{"garbage", map[string]any{}, map[string]any{"id": "x", "type": "public-key"}, []int{1}} {
		b := h.post(api+"passkeys/signin/begin", nil, "")
		requireStatusCode(t, h.post(api+"passkeys/signin/finish", map[string]any{"handle": b.body["handle"], "credential": cred}, ""), http.StatusBadRequest, "invalid_passkey")
	}
	requireStatusCode(t, h.post(api+"passkeys/signin/finish", map[string]any{"handle": "", "credential": k.get(begin)}, ""), http.StatusBadRequest, "invalid_passkey")
	requireStatusCode(t, h.post(api+"passkeys/signin/finish", map[string]any{"handle": strings.Repeat("h", 300), "credential": k.get(begin)}, ""), http.StatusBadRequest, "invalid_passkey")
	requireStatusCode(t, h.post(api+"passkeys/signin/finish", map[string]any{"handle": begin.body["handle"], "extra": 1}, ""), http.StatusBadRequest, "bad_request")
	requireStatusCode(t, h.post(api+"passkeys/signin/finish", "[1]", ""), http.StatusBadRequest, "bad_request")
	requireStatusCode(t, h.post(api+"passkeys/verify/begin", map[string]any{"ticket": "nope"}, ""), http.StatusBadRequest, "invalid_token")
	requireStatusCode(t, h.post(api+"passkeys/verify/finish", map[string]any{"ticket": "nope", "handle": "x"}, ""), http.StatusBadRequest, "invalid_token")
	requireStatusCode(t, h.post(api+"passkeys/register/begin", nil, ""), http.StatusUnauthorized, "missing_session_token")
	requireStatusCode(t, h.get(api+"passkeys", ""), http.StatusUnauthorized, "missing_session_token")

	// A registration handle is its user's alone, and a sign-in handle is
	// not a registration's.
	token = h.passkeySignIn(k).token()
	rb := h.post(api+"passkeys/register/begin", nil, token)
	other := h.signUp("ned@example.com", inputPassword, nil)
	requireStatusCode(t, h.post(api+"passkeys/register/finish", map[string]any{"handle": rb.body["handle"], "credential": newSoftKey(t).create(rb)}, other.token()), http.StatusBadRequest, "invalid_passkey")
	sb := h.post(api+"passkeys/signin/begin", nil, "")
	requireStatusCode(t, h.post(api+"passkeys/register/finish", map[string]any{"handle": sb.body["handle"], "credential": k.get(sb)}, token), http.StatusBadRequest, "invalid_passkey")
	rb = h.post(api+"passkeys/register/begin", nil, token)
	requireStatusCode(t, h.post(api+"passkeys/register/finish", map[string]any{"handle": rb.body["handle"], "credential": newSoftKey(t).create(rb), "name": strings.Repeat("n", 65)}, token), http.StatusBadRequest, "invalid_name")

	// A credential id longer than WebAuthn allows is refused.
	long := newSoftKey(t)
	long.id = make([]byte, 1024)
	requireStatusCode(t, h.registerPasskey(token, long, ""), http.StatusBadRequest, "invalid_passkey")

	// A user with no passkey has nothing to confirm with.
	requireStatusCode(t, h.post(api+"passkeys/confirm/begin", nil, other.token()), http.StatusConflict, "mfa_not_enrolled")
}

// SECURITY 107: passkeys are off without Config.Passkeys (403
// feature_disabled), and New refuses them without MFA, without a
// PasskeyStore, or with an origin outside the relying party id.
func TestPasskeysConfig(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t)
	up := h.signUp("oz@example.com", inputPassword, nil)
	requireStatusCode(t, h.post(api+"passkeys/signin/begin", nil, ""), http.StatusForbidden, "feature_disabled")
	requireStatusCode(t, h.post(api+"passkeys/register/begin", nil, up.token()), http.StatusForbidden, "feature_disabled")

	cfg := validConfig()
	cfg.Passkeys = authkit.Passkeys{RPID: "example.com"}
	_, err := authkit.New(cfg)
	require.ErrorContains(t, err, "MFA")

	cfg = validConfig()
	passkeysOn(&cfg)
	cfg.Passkeys.Origins = []string{"https://example.org"}
	_, err = authkit.New(cfg)
	require.ErrorContains(t, err, "not within RPID")

	cfg = validConfig()
	passkeysOn(&cfg)
	m := memstore.New()
	cfg.Store, cfg.Limiter = factorsOnly{m, m}, m
	_, err = authkit.New(cfg)
	require.ErrorContains(t, err, "PasskeyStore")

	cfg = validConfig()
	passkeysOn(&cfg)
	cfg.Passkeys.Origins = []string{"http://app.example.com"}
	_, err = authkit.New(cfg)
	require.ErrorContains(t, err, "https", "browsers offer passkeys to https pages, and http://localhost")

	cfg = validConfig()
	passkeysOn(&cfg)
	cfg.Passkeys.Origins = nil
	cfg.PublicURL = "https://auth.example.com"
	k, err := authkit.New(cfg)
	require.NoError(t, err, "the origin defaults to PublicURL's")
	require.NoError(t, k.Close(t.Context()))

	cfg = validConfig()
	passkeysOn(&cfg)
	cfg.Passkeys.Origins = nil
	cfg.PublicURL, cfg.AllowedOrigins = "https://auth.example.org", []string{"https://app.example.com", "https://else.example.net"}
	k, err = authkit.New(cfg)
	require.NoError(t, err, "or to the allowed origins within the RPID")
	require.NoError(t, k.Close(t.Context()))

	cfg.AllowedOrigins = []string{"https://else.example.net"}
	_, err = authkit.New(cfg)
	require.ErrorContains(t, err, "needs Origins")

	// The harness allows https://app.example.com, the software
	// authenticator's page, and its PublicURL is no origin within the RPID.
	byDefault := newPasskeyHarness(t, func(c *authkit.Config) { c.Passkeys.Origins = nil })
	_, key, _ := byDefault.passkeyUser("pat@example.com")
	require.Equal(t, http.StatusOK, byDefault.passkeySignIn(key).status)
}

// factorsOnly is a store with second factors and no passkeys.
type factorsOnly struct {
	authkit.Store
	authkit.FactorStore
}

// SECURITY 109: removing the TOTP authenticator of a user who has a
// passkey keeps the passkey and the recovery codes; an admin's
// ResetFactors removes every factor, passkeys too.
func TestPasskeyWithTOTP(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	h := newPasskeyHarness(t, func(c *authkit.Config) {
		c.Hooks.AfterFactorChange = func(_ context.Context, u authkit.User, kind authkit.FactorKind, active bool) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, string(kind)+map[bool]string{true: "+", false: "-"}[active])
			return nil
		}
	})
	up := h.signUp("pam@example.com", inputPassword, nil)
	token := up.token()
	secret, codes := h.enrolTOTP(token)
	k := newSoftKey(t)
	// A session of one factor adds no passkey to an account that has a
	// second: a passkey would sign in alone.
	requireStatusCode(t, h.post(api+"passkeys/register/begin", nil, token), http.StatusForbidden, "mfa_step_up_required")
	up = h.post(api+"mfa/step-up", map[string]any{"code": totpCode(t, secret, h.now())}, token)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	h.clock.Advance(30 * time.Second)
	token = up.token()
	reg := h.registerPasskey(token, k, "")
	require.Equal(t, http.StatusOK, reg.status, "%s", reg.raw)
	require.Nil(t, reg.body["recoveryCodes"], "the authenticator brought them already")

	require.Equal(t, http.StatusOK, h.post(api+"mfa/totp/remove", map[string]any{"code": totpCode(t, secret, h.now())}, token).status)
	ticket := mfaTicket(t, h.signIn("pam@example.com", inputPassword))
	ok := h.verifyMFA(ticket, codes[0])
	require.Equal(t, http.StatusOK, ok.status, "the recovery codes stay with the passkey: %s", ok.raw)
	require.Equal(t, http.StatusOK, h.passkeySignIn(k).status)

	require.NoError(t, h.kit.ResetFactors(t.Context(), h.userID("pam@example.com")))
	require.Empty(t, h.get(api+"passkeys", token).list)
	requireStatusCode(t, h.passkeySignIn(k), http.StatusBadRequest, "invalid_passkey")
	require.Equal(t, http.StatusOK, h.signIn("pam@example.com", inputPassword).status)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"totp+", "passkey+", "totp-", "totp-", "passkey-"}, events)
}

// ceremonyAnswer is a Go API ceremony as its route answers it.
func ceremonyAnswer(t *testing.T, c authkit.PasskeyCeremony) answer {
	t.Helper()
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	a := answer{status: http.StatusOK, raw: raw}
	require.NoError(t, json.Unmarshal(raw, &a.body))
	return a
}

// The Go API has every passkey flow, with the routes' checks.
func TestPasskeyGoAPI(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t, noLimits)
	h.passwordUser("lee@example.com")
	in, err := h.kit.SignInWithEmail(clientCtx(t), "lee@example.com", inputPassword)
	require.NoError(t, err)
	ctx, err := h.kit.Authenticate(clientCtx(t), in.Token)
	require.NoError(t, err)
	_, err = h.kit.ListPasskeys(clientCtx(t))
	requireErrorCode(t, err, authkit.CodeMissingSessionToken)

	k := newSoftKey(t)
	c, err := h.kit.BeginPasskeyRegistration(ctx)
	require.NoError(t, err)
	reg, err := h.kit.FinishPasskeyRegistration(ctx, c.Handle, k.create(ceremonyAnswer(t, c)), " Key ")
	require.NoError(t, err)
	require.Len(t, reg.RecoveryCodes, 10)
	require.Equal(t, "Key", reg.Passkey.Name)

	c, err = h.kit.BeginPasskeySignIn(clientCtx(t))
	require.NoError(t, err)
	a, err := h.kit.FinishPasskeySignIn(clientCtx(t), c.Handle, k.get(ceremonyAnswer(t, c)))
	require.NoError(t, err)
	require.Empty(t, a.User.PasswordHash)
	require.Equal(t, 2, a.Session.Factors)

	_, err = h.kit.SignInWithEmail(clientCtx(t), "lee@example.com", inputPassword)
	mfa := requireErrorCode(t, err, authkit.CodeMFARequired)
	require.Equal(t, true, mfa.Details["passkey"])
	ticket := mfa.Details["ticket"].(string)
	c, err = h.kit.BeginPasskeyVerify(clientCtx(t), ticket)
	require.NoError(t, err)
	a, err = h.kit.VerifyMFAWithPasskey(clientCtx(t), ticket, c.Handle, k.get(ceremonyAnswer(t, c)))
	require.NoError(t, err)
	require.Equal(t, 2, a.Session.Factors)

	list, err := h.kit.ListPasskeys(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NoError(t, h.kit.RenamePasskey(ctx, list[0].ID, "Desk"))
	requireErrorCode(t, h.kit.RenamePasskey(ctx, "nope", "Desk"), authkit.CodePasskeyNotFound)

	// The last factor, from a session of one: a step-up with the passkey
	// first.
	requireErrorCode(t, h.kit.RemovePasskey(ctx, list[0].ID, authkit.PasskeyProof{}), authkit.CodeMFAStepUpRequired)
	c, err = h.kit.BeginPasskeyConfirmation(ctx)
	require.NoError(t, err)
	up, err := h.kit.StepUpWithPasskey(ctx, c.Handle, k.get(ceremonyAnswer(t, c)))
	require.NoError(t, err)
	ctx, err = h.kit.Authenticate(clientCtx(t), up.Token)
	require.NoError(t, err)
	require.NoError(t, h.kit.RemovePasskey(ctx, list[0].ID, authkit.PasskeyProof{}))
	list, err = h.kit.ListPasskeys(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
}

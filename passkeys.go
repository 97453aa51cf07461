package authkit

// Passkeys (Config.Passkeys): WebAuthn credentials a signed-in user
// registers, each a second factor and, being discoverable and verifying
// its user, a sign-in of its own. Every ceremony's state (its challenge)
// is a one-time token in the store, spent by the ceremony's finish: no
// instance trusts the client with it, and any instance finishes what
// another began.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Passkeys configures passkeys (see [Config.Passkeys]). They are off
// while RPID is empty.
type Passkeys struct {
	// RPID is the relying party's id: the domain the passkeys are bound
	// to (example.com serves example.com and its subdomains; localhost in
	// development). No default: setting it turns passkeys on.
	RPID string
	// Origins are the origins (scheme://host[:port]) whose pages may use
	// the passkeys, each within RPID, and https but on localhost.
	// Default: PublicURL's origin and those of AllowedOrigins (the app's
	// pages) that are within RPID.
	Origins []string
	// RPName is the name an authenticator shows for the site. Default:
	// Config.AppName.
	RPName string
}

// FactorPasskey is a passkey (WebAuthn) as a second factor: what
// Hooks.AfterFactorChange is told when one is registered or removed.
const FactorPasskey FactorKind = "passkey"

// MethodPasskey is a sign-in with a passkey alone (passkeys/signin).
const MethodPasskey SignInMethod = "passkey"

// Passkey is a user's registered passkey as a store keeps it.
type Passkey struct {
	// ID is the kit's id of the passkey, unique in the store: what the
	// user names it by to rename or remove it.
	ID     string
	UserID string
	// CredentialID is the authenticator's id of the credential, unique in
	// the store (at most 1023 bytes).
	CredentialID []byte
	// Name is what the user called it ("" for none).
	Name string
	// Credential is the credential record (its public key, flags,
	// authenticator) as the kit wrote it: opaque to the store, returned
	// as stored.
	Credential []byte
	// SignCount is the authenticator's signature counter at its last
	// accepted use.
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used since registered
}

// PasskeyStore is what passkeys need of a [Store] beyond [FactorStore]:
// each user's passkeys, found by the authenticator's credential id when
// one signs in. [New] demands it when [Config.Passkeys] is set.
//
// A store that implements it deletes a user's passkeys with the user
// (DeleteUser) and with the user's other factors (DeleteFactors).
type PasskeyStore interface {
	// CreatePasskey stores p. When codes is not nil, every recovery code
	// of the user is replaced with codes in the same atomic step. It
	// returns ErrDuplicate if p.ID or p.CredentialID is taken, and then
	// changes nothing.
	CreatePasskey(ctx context.Context, p Passkey, codes []string) error
	// PasskeyByCredentialID returns the passkey with that credential id,
	// or ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error)
	// PasskeysOf returns the user's passkeys, oldest first (by CreatedAt,
	// then ID); none is an empty slice.
	PasskeysOf(ctx context.Context, userID string) ([]Passkey, error)
	// UsePasskey sets SignCount to count and LastUsedAt to at on the
	// user's passkey with that id if its SignCount is still from, and
	// reports whether it did. It is atomic: of callers racing from one
	// count, at most one gets true. No such passkey reports false.
	UsePasskey(ctx context.Context, userID, id string, from, count uint32, at time.Time) (bool, error)
	// RenamePasskey sets the name of the user's passkey with that id, or
	// returns ErrNotFound (a passkey of another user is not found).
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey deletes the user's passkey with that id, or returns
	// ErrNotFound (a passkey of another user is not found).
	DeletePasskey(ctx context.Context, userID, id string) error
	// DeleteFactor deletes the user's factor of that kind, pending or
	// active, and nothing else: the recovery codes stay. None is not an
	// error.
	DeleteFactor(ctx context.Context, userID string, kind FactorKind) error
}

const (
	// passkeyCeremonyLifetime is how long a ceremony's challenge stays
	// good.
	passkeyCeremonyLifetime = 5 * time.Minute
	// maxPasskeyName is the most characters of a passkey's name.
	maxPasskeyName = 64
	// maxPasskeys is the most passkeys a user may register.
	maxPasskeys = 20
	// maxCredentialID is the longest credential id WebAuthn allows, and
	// the most a PasskeyStore must keep.
	maxCredentialID = 1023
)

// The token purposes of the passkey ceremonies: each token's Data is the
// ceremony's state (webauthn.SessionData), its secret the handle the
// client sends back with the authenticator's answer.
const (
	PurposePasskeyRegister TokenPurpose = "passkey-register" // a registration begun by the signed-in UserID
	PurposePasskeySignIn   TokenPurpose = "passkey-signin"   // a sign-in with a passkey alone: no user yet
	PurposePasskeyAssert   TokenPurpose = "passkey-assert"   // an assertion by UserID: a second factor (Link: the ticket's hash) or a confirmation
)

var (
	errPasskeysDisabled = newError(CodeFeatureDisabled, "Passkeys are not enabled.")
	errPasskeyInvalid   = newError(CodeInvalidPasskey, "The passkey's answer is not valid: its challenge was used already, has expired or never existed, or the answer is not for this site, this challenge or a registered passkey. Start again.")
	errPasskeyNotFound  = newError(CodePasskeyNotFound, "You have no such passkey.")
	errPasskeyName      = newError(CodeInvalidName, fmt.Sprintf("A passkey's name is one line of at most %d characters.", maxPasskeyName))
	errPasskeyLimit     = newError(CodeBadRequest, fmt.Sprintf("An account holds at most %d passkeys: remove one first.", maxPasskeys))
)

// passkeySettings is what Config.Passkeys turned on.
type passkeySettings struct {
	on       bool
	store    PasskeyStore
	webauthn *webauthn.WebAuthn
}

// configurePasskeys checks and applies Passkeys. Passkeys are second
// factors, with the recovery codes of Config.MFA: they need MFA on
// (which brings the Secret and the FactorStore).
func (k *Kit) configurePasskeys(cfg Config) error {
	p := cfg.Passkeys
	if p.RPID == "" {
		if len(p.Origins) > 0 || p.RPName != "" {
			return errors.New("authkit: Config.Passkeys needs RPID: passkeys are off without it")
		}
		return nil
	}
	if !k.mfa.on {
		return errors.New("authkit: Config.Passkeys needs Config.MFA On: a passkey is a second factor, with the recovery codes MFA keeps and the secret it needs")
	}
	var ok bool
	if k.passkey.store, ok = cfg.Store.(PasskeyStore); !ok {
		return errors.New("authkit: Config.Passkeys needs a Store that implements authkit.PasskeyStore; memstore and sqlstore stores do")
	}
	k.passkey.store = k.bound.passkeyStore(k.passkey.store)
	origins, err := passkeyOrigins(p, k.publicURL, slices.Sorted(maps.Keys(k.origins)))
	if err != nil {
		return err
	}
	name := p.RPName
	if name == "" {
		name = k.appName
	}
	timeout := webauthn.TimeoutConfig{Timeout: passkeyCeremonyLifetime, TimeoutUVD: passkeyCeremonyLifetime}
	w, err := webauthn.New(&webauthn.Config{
		RPID: p.RPID, RPDisplayName: name, RPOrigins: origins,
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts:              webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return fmt.Errorf("authkit: Config.Passkeys: %w", err)
	}
	k.passkey.on, k.passkey.webauthn = true, w
	return nil
}

// passkeyOrigins are the origins whose pages may use passkeys: p.Origins,
// each an origin within the RPID, http only on localhost (WebAuthn needs
// a secure context); by default PublicURL's origin and the allowed
// origins (Config.AllowedOrigins: the app's pages) that are within it.
func passkeyOrigins(p Passkeys, publicURL string, allowed []string) ([]string, error) {
	within := func(o string) (bool, error) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return false, fmt.Errorf("authkit: Config.Passkeys.Origins: %q is not an origin (scheme://host[:port])", o)
		}
		host := strings.ToLower(u.Hostname())
		if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
			return false, fmt.Errorf("authkit: Config.Passkeys.Origins: %q is http: browsers offer passkeys only to https pages (and http://localhost)", o)
		}
		return host == p.RPID || strings.HasSuffix(host, "."+p.RPID), nil
	}
	if len(p.Origins) > 0 {
		for _, o := range p.Origins {
			if ok, err := within(o); err != nil {
				return nil, err
			} else if !ok {
				return nil, fmt.Errorf("authkit: Config.Passkeys.Origins: %q is not within RPID %q", o, p.RPID)
			}
		}
		return p.Origins, nil
	}
	var out []string
	for _, o := range append([]string{canonicalOrigin(publicURL)}, allowed...) {
		if ok, err := within(o); err == nil && ok && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("authkit: Config.Passkeys needs Origins: neither PublicURL nor any of AllowedOrigins is an https origin within RPID %q", p.RPID)
	}
	return out, nil
}

// PasskeyCeremony is a ceremony begun: the options for the browser's
// navigator.credentials.create or .get (in the JSON form of
// PublicKeyCredentialCreationOptions or ...RequestOptions, under
// "publicKey"), and the handle that the finish sends back with the
// authenticator's answer, within ExpiresIn seconds, once.
type PasskeyCeremony struct {
	Options   json.RawMessage `json:"options"`
	Handle    string          `json:"handle"`
	ExpiresIn int             `json:"expiresIn"`
}

// PasskeyInfo is a passkey as its user sees it listed.
type PasskeyInfo struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"` // null: never used
}

// PasskeyRegistration is a passkey just registered. RecoveryCodes are
// the account's new recovery codes when the passkey is its first second
// factor (shown once), else empty.
type PasskeyRegistration struct {
	Passkey       PasskeyInfo `json:"passkey"`
	RecoveryCodes []string    `json:"recoveryCodes,omitempty"`
}

// PasskeyProof is what removing a passkey takes from a session without a
// recent second factor: a code from the authenticator app or a recovery
// code, or a passkey confirmation's handle (passkeys/confirm/begin,
// [Kit.BeginPasskeyConfirmation]) with the authenticator's answer.
type PasskeyProof struct {
	Code       string          `json:"code,omitempty"`
	Handle     string          `json:"handle,omitempty"`
	Credential json.RawMessage `json:"credential,omitempty"`
}

func infoOf(p Passkey) PasskeyInfo {
	i := PasskeyInfo{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		i.LastUsedAt = &t
	}
	return i
}

// webauthnUser is a user as the webauthn library sees one: the user's id
// is the user handle, which a discoverable credential gives back.
type webauthnUser struct {
	u     User
	creds []webauthn.Credential
}

func (w *webauthnUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w *webauthnUser) WebAuthnName() string                       { return accountName(&w.u) }
func (w *webauthnUser) WebAuthnDisplayName() string                { return cmp.Or(w.u.Name, accountName(&w.u)) }
func (w *webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// webauthnUserOf is u with its passkeys, as stored and as credentials.
func (k *Kit) webauthnUserOf(ctx context.Context, u User) (*webauthnUser, []Passkey, error) {
	ps, err := k.passkey.store.PasskeysOf(ctx, u.ID)
	if err != nil {
		return nil, nil, internalError(err)
	}
	w := &webauthnUser{u: u}
	for _, p := range ps {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil {
			return nil, nil, internalError(fmt.Errorf("authkit: passkey %s's record: %w", p.ID, err))
		}
		c.Authenticator.SignCount = p.SignCount
		w.creds = append(w.creds, c)
	}
	return w, ps, nil
}

// passkeysOn is nil when passkeys are on, else feature_disabled.
func (k *Kit) passkeysOn() error {
	if !k.passkey.on {
		return errPasskeysDisabled
	}
	return nil
}

// beginCeremony stores a ceremony's state as a one-time token and returns
// the options with the token's secret as the handle.
func (k *Kit) beginCeremony(ctx context.Context, t Token, options any, s *webauthn.SessionData) (PasskeyCeremony, error) {
	// The token's expiry, on the kit's clock, is the ceremony's: the
	// library's own check would read the wall clock.
	s.Expires = time.Time{}
	data, err := json.Marshal(s)
	if err != nil {
		return PasskeyCeremony{}, internalError(err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return PasskeyCeremony{}, internalError(err)
	}
	t.Data = data
	handle, err := k.issueToken(ctx, t, passkeyCeremonyLifetime)
	if err != nil {
		return PasskeyCeremony{}, internalError(err)
	}
	return PasskeyCeremony{Options: opts, Handle: handle, ExpiresIn: int(passkeyCeremonyLifetime / time.Second)}, nil
}

// spendCeremony spends the ceremony of that purpose whose handle is
// handle: a second finish, an expired or unknown handle is invalid_passkey.
func (k *Kit) spendCeremony(ctx context.Context, purpose TokenPurpose, handle string) (Token, webauthn.SessionData, error) {
	var s webauthn.SessionData
	if handle == "" || len(handle) > maxTokenLen {
		return Token{}, s, errPasskeyInvalid
	}
	t, err := k.store.ConsumeToken(ctx, purpose, hashToken(handle), k.clock())
	if errors.Is(err, ErrNotFound) {
		return Token{}, s, errPasskeyInvalid
	}
	if err != nil {
		return Token{}, s, internalError(err)
	}
	if err := json.Unmarshal(t.Data, &s); err != nil {
		return Token{}, s, internalError(fmt.Errorf("authkit: a passkey ceremony's state: %w", err))
	}
	return t, s, nil
}

// BeginPasskeyRegistration begins registering a passkey for the
// signed-in user: options asking for a discoverable credential that
// verifies its user if it can, excluding the user's passkeys. A
// registration begun before, and not finished, is void. A user who has a
// second factor registers one only from a session that proved it within
// Config.RecentFactor (else mfa_step_up_required): a passkey signs in
// alone, so a session of one factor must not add one.
func (k *Kit) BeginPasskeyRegistration(ctx context.Context) (PasskeyCeremony, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if err := k.passkeysOn(); err != nil {
		return PasskeyCeremony{}, err
	}
	if err := k.needRecentProof(ctx, c); err != nil {
		return PasskeyCeremony{}, err
	}
	w, _, err := k.webauthnUserOf(ctx, *c.user)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(w.creds) >= maxPasskeys {
		return PasskeyCeremony{}, errPasskeyLimit
	}
	required := true
	exclude := webauthn.Credentials(w.creds).CredentialDescriptors()
	opts, s, err := k.passkey.webauthn.BeginRegistration(w,
		webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &required, ResidentKey: protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return PasskeyCeremony{}, internalError(err)
	}
	return k.beginCeremony(ctx, Token{Purpose: PurposePasskeyRegister, UserID: c.user.ID, Stamp: c.user.Stamp}, opts, s)
}

// FinishPasskeyRegistration registers the passkey the authenticator made
// for the handle of BeginPasskeyRegistration (credential: the
// PublicKeyCredential as JSON, its binary fields in base64url), named
// name ("" for none). When it is the user's first second factor (no
// TOTP authenticator, no passkey), the answer carries the account's
// recovery codes, shown once; from then on every sign-in of the user
// asks for a second factor. An answer that fails verification, or a
// spent, expired or unknown handle, is invalid_passkey.
func (k *Kit) FinishPasskeyRegistration(ctx context.Context, handle string, credential json.RawMessage, name string) (PasskeyRegistration, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	if err := k.passkeysOn(); err != nil {
		return PasskeyRegistration{}, err
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxPasskeyName || strings.ContainsFunc(name, unprintable) {
		return PasskeyRegistration{}, errPasskeyName
	}
	if err := k.needRecentFactor(ctx, c); err != nil {
		return PasskeyRegistration{}, err
	}
	u := c.user
	t, s, err := k.spendCeremony(ctx, PurposePasskeyRegister, handle)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	if t.UserID != u.ID {
		return PasskeyRegistration{}, errPasskeyInvalid // another user's ceremony
	}
	w, ps, err := k.webauthnUserOf(ctx, *u)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	if len(ps) >= maxPasskeys {
		return PasskeyRegistration{}, errPasskeyLimit
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		k.event(ctx, "passkey registration refused: a malformed answer", u.ID)
		return PasskeyRegistration{}, errPasskeyInvalid
	}
	cred, err := k.passkey.webauthn.CreateCredential(w, s, parsed)
	if err != nil {
		k.log.InfoContext(ctx, "authkit: passkey registration refused", "user", u.ID, "reason", webauthnReason(err))
		return PasskeyRegistration{}, errPasskeyInvalid
	}
	if len(cred.ID) > maxCredentialID {
		k.event(ctx, "passkey registration refused: a credential id over 1023 bytes", u.ID)
		return PasskeyRegistration{}, errPasskeyInvalid
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return PasskeyRegistration{}, internalError(err)
	}
	id, err := k.newID()
	if err != nil {
		return PasskeyRegistration{}, internalError(err)
	}
	// The first second factor brings the recovery codes.
	var codes, hashes []string
	if len(ps) == 0 {
		hasTOTP, err := k.hasActiveTOTP(ctx, u.ID)
		if err != nil {
			return PasskeyRegistration{}, internalError(err)
		}
		if !hasTOTP {
			if codes, hashes, err = k.newRecoveryCodes(u.ID); err != nil {
				return PasskeyRegistration{}, internalError(err)
			}
		}
	}
	p := Passkey{
		ID: id, UserID: u.ID, CredentialID: cred.ID, Name: name, Credential: record,
		SignCount: cred.Authenticator.SignCount, CreatedAt: k.clock(),
	}
	err = k.passkey.store.CreatePasskey(ctx, p, hashes)
	if errors.Is(err, ErrDuplicate) {
		k.event(ctx, "passkey registration refused: the credential is registered already", u.ID)
		return PasskeyRegistration{}, errPasskeyInvalid
	}
	if err != nil {
		return PasskeyRegistration{}, internalError(err)
	}
	k.log.InfoContext(ctx, "authkit: passkey registered", "user", u.ID, "passkey", id)
	k.afterFactorChange(ctx, *u, FactorPasskey, true)
	return PasskeyRegistration{Passkey: infoOf(p), RecoveryCodes: codes}, nil
}

// webauthnReason is what a webauthn error says, for the log: the
// library's details name the check that failed, never a secret.
func webauthnReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Type + ": " + pe.Details
	}
	return err.Error()
}

// BeginPasskeySignIn begins a sign-in with a passkey alone: options for
// any discoverable passkey of this site, which must verify its user.
func (k *Kit) BeginPasskeySignIn(ctx context.Context) (PasskeyCeremony, error) {
	if err := k.passkeysOn(); err != nil {
		return PasskeyCeremony{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return PasskeyCeremony{}, err
	}
	opts, s, err := k.passkey.webauthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyCeremony{}, internalError(err)
	}
	return k.beginCeremony(ctx, Token{Purpose: PurposePasskeySignIn}, opts, s)
}

// FinishPasskeySignIn signs in the user whose passkey answered the
// challenge of BeginPasskeySignIn's handle, verifying its user: a
// session of two factors, under the user's credential stamp, refused
// (user_disabled) to a disabled user. An answer that fails verification
// (another site, another origin, an unknown passkey, a counter that went
// back), or a spent, expired or unknown handle, is invalid_passkey.
func (k *Kit) FinishPasskeySignIn(ctx context.Context, handle string, credential json.RawMessage) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, MethodPasskey, "", &err)
	if err := k.passkeysOn(); err != nil {
		return SignIn{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	_, s, err := k.spendCeremony(ctx, PurposePasskeySignIn, handle)
	if err != nil {
		return SignIn{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		k.event(ctx, "passkey sign-in refused: a malformed answer", "")
		return SignIn{}, errPasskeyInvalid
	}
	var (
		found   *webauthnUser
		stored  Passkey
		lookErr error
	)
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := k.passkey.store.PasskeyByCredentialID(ctx, rawID)
		if err != nil {
			lookErr = err
			return nil, err
		}
		if !bytes.Equal([]byte(p.UserID), userHandle) {
			return nil, errors.New("the user handle is not the passkey's user's")
		}
		u, err := k.store.UserByID(ctx, p.UserID)
		if err != nil {
			lookErr = err
			return nil, err
		}
		w, _, err := k.webauthnUserOf(ctx, u)
		if err != nil {
			lookErr = err
			return nil, err
		}
		found, stored = w, p
		return w, nil
	}
	_, cred, err := k.passkey.webauthn.ValidatePasskeyLogin(handler, s, parsed)
	if lookErr != nil && !errors.Is(lookErr, ErrNotFound) {
		return SignIn{}, internalError(lookErr)
	}
	userID := ""
	if found != nil {
		userID = found.u.ID
	}
	if err != nil {
		k.log.InfoContext(ctx, "authkit: passkey sign-in refused", "user", userID, "reason", webauthnReason(err))
		return SignIn{}, errPasskeyInvalid
	}
	if err := k.usePasskey(ctx, stored, cred); err != nil {
		return SignIn{}, err
	}
	u := found.u
	how := via{method: MethodPasskey, factors: 2}
	answer, err := k.startSession(ctx, u.ID, u.Stamp, UserUpdate{}, errPasskeyInvalid, how)
	if err != nil {
		return SignIn{}, err
	}
	k.event(ctx, "sign-in with a passkey", u.ID)
	k.noticeNewDevice(ctx, answer, false)
	return forHost(answer, nil)
}

// usePasskey records an accepted assertion of p: its new signature
// counter and when it was used. A counter that did not move forward
// while either is not zero means the credential may have been cloned:
// the assertion is refused and logged, as the library's clone warning
// recommends weighing. (Authenticators that keep no counter, such as
// synced passkeys, always send 0, which is accepted.)
func (k *Kit) usePasskey(ctx context.Context, p Passkey, cred *webauthn.Credential) error {
	if cred.Authenticator.CloneWarning {
		k.log.WarnContext(ctx, "authkit: passkey refused: its signature counter went back (a cloned authenticator?)", "user", p.UserID, "passkey", p.ID)
		return errPasskeyInvalid
	}
	ok, err := k.passkey.store.UsePasskey(ctx, p.UserID, p.ID, p.SignCount, cred.Authenticator.SignCount, k.clock())
	if err != nil {
		return internalError(err)
	}
	if !ok {
		// Another assertion of the same counter won: a clone, or the
		// passkey was removed meanwhile.
		k.log.WarnContext(ctx, "authkit: passkey refused: used concurrently, or removed", "user", p.UserID, "passkey", p.ID)
		return errPasskeyInvalid
	}
	return nil
}

// beginPasskeyAssertion begins an assertion by one of the user's
// passkeys (any of them; the user verified if the authenticator can):
// the options and the handle checkPasskeyAssertion takes. link binds the
// assertion to what it is for (an MFA ticket's hash; "" for none).
// mfa_not_enrolled when the user has no passkey.
func (k *Kit) beginPasskeyAssertion(ctx context.Context, userID, link string) (PasskeyCeremony, error) {
	if err := k.passkeysOn(); err != nil {
		return PasskeyCeremony{}, err
	}
	u, err := k.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return PasskeyCeremony{}, errMFANotEnrolled
	}
	if err != nil {
		return PasskeyCeremony{}, internalError(err)
	}
	w, _, err := k.webauthnUserOf(ctx, u)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(w.creds) == 0 {
		return PasskeyCeremony{}, errMFANotEnrolled
	}
	opts, s, err := k.passkey.webauthn.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyCeremony{}, internalError(err)
	}
	return k.beginCeremony(ctx, Token{Purpose: PurposePasskeyAssert, UserID: u.ID, Link: link}, opts, s)
}

// checkPasskeyAssertion spends the handle of beginPasskeyAssertion for
// the user and link, and checks the authenticator's answer to it: a
// passkey of the user, for this site and origin, its counter moving
// forward. Anything else is invalid_passkey; the handle is spent either
// way.
func (k *Kit) checkPasskeyAssertion(ctx context.Context, userID, link, handle string, assertion json.RawMessage) error {
	if err := k.passkeysOn(); err != nil {
		return err
	}
	t, s, err := k.spendCeremony(ctx, PurposePasskeyAssert, handle)
	if err != nil {
		return err
	}
	if t.UserID != userID || t.Link != link {
		k.event(ctx, "passkey assertion refused: the handle is another ceremony's", userID)
		return errPasskeyInvalid
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(assertion)
	if err != nil {
		k.event(ctx, "passkey assertion refused: a malformed answer", userID)
		return errPasskeyInvalid
	}
	u, err := k.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return errPasskeyInvalid
	}
	if err != nil {
		return internalError(err)
	}
	w, ps, err := k.webauthnUserOf(ctx, u)
	if err != nil {
		return err
	}
	cred, err := k.passkey.webauthn.ValidateLogin(w, s, parsed)
	if err != nil {
		k.log.InfoContext(ctx, "authkit: passkey assertion refused", "user", userID, "reason", webauthnReason(err))
		return errPasskeyInvalid
	}
	for _, p := range ps {
		if bytes.Equal(p.CredentialID, cred.ID) {
			return k.usePasskey(ctx, p, cred)
		}
	}
	return errPasskeyInvalid // removed meanwhile
}

// ticketOf is the unexpired MFA ticket, unspent, or invalid_token.
func (k *Kit) ticketOf(ctx context.Context, ticket string) (Token, error) {
	if ticket == "" || len(ticket) > maxTokenLen {
		return Token{}, errMFATicket
	}
	t, err := k.store.TokenByHash(ctx, hashToken(ticket), k.clock())
	if errors.Is(err, ErrNotFound) || (err == nil && t.Purpose != PurposeMFATicket) {
		return Token{}, errMFATicket
	}
	if err != nil {
		return Token{}, internalError(err)
	}
	return t, nil
}

// BeginPasskeyVerify begins the second step of a sign-in that answered
// mfa_required, with a passkey: options for the ticket's user's passkeys.
// invalid_token for a spent, expired or unknown ticket; mfa_not_enrolled
// when the user has no passkey.
func (k *Kit) BeginPasskeyVerify(ctx context.Context, ticket string) (PasskeyCeremony, error) {
	if err := k.passkeysOn(); err != nil {
		return PasskeyCeremony{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return PasskeyCeremony{}, err
	}
	t, err := k.ticketOf(ctx, ticket)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return k.beginPasskeyAssertion(ctx, t.UserID, t.Hash)
}

// VerifyMFAWithPasskey finishes a sign-in that answered mfa_required with
// a passkey: the handle of BeginPasskeyVerify for the same ticket and
// the authenticator's answer. It spends the ticket and signs the user in
// as VerifyMFA does, with a session of two factors. A failed answer is
// invalid_passkey, and the ticket stays good until it expires; a spent,
// expired or unknown ticket is invalid_token.
func (k *Kit) VerifyMFAWithPasskey(ctx context.Context, ticket, handle string, credential json.RawMessage) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, methodSecondFactor, "", &err)
	if err := k.passkeysOn(); err != nil {
		return SignIn{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	t, err := k.ticketOf(ctx, ticket)
	if err != nil {
		return SignIn{}, err
	}
	if err := k.checkPasskeyAssertion(ctx, t.UserID, t.Hash, handle, credential); err != nil {
		return SignIn{}, err
	}
	return k.spendTicket(ctx, t, "sign-in with a passkey as second factor")
}

// spendTicket spends the MFA ticket t, whose second factor was checked,
// and signs its user in with two factors, under the ticket's stamp.
func (k *Kit) spendTicket(ctx context.Context, t Token, what string) (SignIn, error) {
	t, err := k.store.ConsumeToken(ctx, PurposeMFATicket, t.Hash, k.clock())
	if errors.Is(err, ErrNotFound) {
		return SignIn{}, errMFATicket // spent by a racing verify
	}
	if err != nil {
		return SignIn{}, internalError(err)
	}
	how := via{method: SignInMethod(t.Action), provider: t.Subject, factors: 2}
	answer, err := k.startSession(ctx, t.UserID, t.Stamp, UserUpdate{}, errMFATicket, how)
	if err != nil {
		return SignIn{}, err
	}
	k.event(ctx, what, t.UserID)
	k.noticeNewDevice(ctx, answer, false)
	return forHost(answer, nil)
}

// BeginPasskeyConfirmation begins an assertion by one of the signed-in
// user's passkeys, whose handle and answer StepUpWithPasskey and
// RemovePasskey take as proof of a recent second factor.
func (k *Kit) BeginPasskeyConfirmation(ctx context.Context) (PasskeyCeremony, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return k.beginPasskeyAssertion(ctx, c.user.ID, "")
}

// ListPasskeys lists the signed-in user's passkeys, oldest first.
func (k *Kit) ListPasskeys(ctx context.Context) ([]PasskeyInfo, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if err := k.passkeysOn(); err != nil {
		return nil, err
	}
	ps, err := k.passkey.store.PasskeysOf(ctx, c.user.ID)
	if err != nil {
		return nil, internalError(err)
	}
	out := make([]PasskeyInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, infoOf(p))
	}
	return out, nil
}

// RenamePasskey renames the signed-in user's passkey with that id;
// passkey_not_found when the user has none with that id.
func (k *Kit) RenamePasskey(ctx context.Context, id, name string) error {
	c, err := signedIn(ctx)
	if err != nil {
		return err
	}
	if err := k.passkeysOn(); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxPasskeyName || strings.ContainsFunc(name, unprintable) {
		return errPasskeyName
	}
	if id == "" || len(id) > 64 {
		return errPasskeyNotFound
	}
	err = k.passkey.store.RenamePasskey(ctx, c.user.ID, id, name)
	if errors.Is(err, ErrNotFound) {
		return errPasskeyNotFound
	}
	if err != nil {
		return internalError(err)
	}
	k.log.InfoContext(ctx, "authkit: passkey renamed", "user", c.user.ID, "passkey", id)
	return nil
}

// RemovePasskey removes the signed-in user's passkey with that id
// (passkey_not_found when the user has none with that id). Like every
// credential change it needs a recent second factor: a session that
// proved one within Config.RecentFactor, or proof in the call (a code
// from the authenticator app, a recovery code, or a passkey
// confirmation), else mfa_step_up_required. When it is the user's last
// second factor (no other passkey, no TOTP authenticator) the recovery
// codes go with it, and the user's sign-ins need one factor again.
func (k *Kit) RemovePasskey(ctx context.Context, id string, proof PasskeyProof) error {
	c, err := signedIn(ctx)
	if err != nil {
		return err
	}
	if err := k.passkeysOn(); err != nil {
		return err
	}
	if err := k.askedIP(ctx); err != nil {
		return err
	}
	u := c.user
	ps, err := k.passkey.store.PasskeysOf(ctx, u.ID)
	if err != nil {
		return internalError(err)
	}
	mine := false
	for _, p := range ps {
		mine = mine || p.ID == id
	}
	if !mine {
		return errPasskeyNotFound
	}
	last := len(ps) == 1
	if last {
		hasTOTP, err := k.hasActiveTOTP(ctx, u.ID)
		if err != nil {
			return internalError(err)
		}
		last = !hasTOTP
	}
	// Removing any factor is a credential change: a one-factor session
	// (one opened before the user enrolled, or stolen) must not thin the
	// user's factors out, so it takes a proof, or a recent second factor.
	given := proof.Code != "" || proof.Handle != "" || len(proof.Credential) > 0
	if given || !k.recentFactor(c.session, k.mfa.recent) {
		if err := k.checkRemovalProof(ctx, u.ID, proof); err != nil {
			return err
		}
	}
	err = k.passkey.store.DeletePasskey(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return errPasskeyNotFound // removed meanwhile
	}
	if err != nil {
		return internalError(err)
	}
	if last {
		if err := k.mfa.store.ReplaceRecoveryCodes(ctx, u.ID, nil); err != nil {
			return internalError(err)
		}
	}
	k.log.InfoContext(ctx, "authkit: passkey removed", "user", u.ID, "passkey", id)
	k.afterFactorChange(ctx, *u, FactorPasskey, false)
	return nil
}

// checkRemovalProof checks proof of a recent second factor of the user, who
// has passkeys and no TOTP authenticator: a recovery code (spent), or a
// passkey confirmation.
func (k *Kit) checkRemovalProof(ctx context.Context, userID string, proof PasskeyProof) error {
	switch {
	case proof.Code != "":
		// A code from the authenticator app, or a recovery code.
		return k.checkCodeFactor(ctx, userID, proof.Code, true)
	case proof.Handle != "" || len(proof.Credential) > 0:
		return k.checkPasskeyAssertion(ctx, userID, "", proof.Handle, proof.Credential)
	}
	k.event(ctx, "passkey removal refused: no recent second factor", userID)
	return stepUpRequired(true, k.mfa.recent)
}

// StepUpWithPasskey raises the signed-in session to two factors with a
// passkey, as StepUp does with a code: the handle of
// BeginPasskeyConfirmation and the authenticator's answer. The session
// is replaced by a new one of two factors, recent for
// Config.RecentFactor. A failed answer is invalid_passkey.
func (k *Kit) StepUpWithPasskey(ctx context.Context, handle string, credential json.RawMessage) (SignIn, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return SignIn{}, err
	}
	if err := k.passkeysOn(); err != nil {
		return SignIn{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	if err := k.checkPasskeyAssertion(ctx, c.user.ID, "", handle, credential); err != nil {
		return SignIn{}, err
	}
	return k.raiseSession(ctx, c)
}

// checkCodeFactor checks code, a TOTP code or (when recovery allows) a
// recovery code, as the user's second factor: against the active TOTP
// authenticator, or, for a user with passkeys and no authenticator, as a
// recovery code. mfa_not_enrolled when the user has neither.
func (k *Kit) checkCodeFactor(ctx context.Context, userID, code string, recovery bool) error {
	f, err := k.activeFactor(ctx, userID)
	if err == nil {
		return k.checkSecondFactor(ctx, f, code, recovery)
	}
	if !errors.Is(err, errMFANotEnrolled) || !k.passkey.on {
		return err
	}
	ps, perr := k.passkey.store.PasskeysOf(ctx, userID)
	if perr != nil {
		return internalError(perr)
	}
	if len(ps) == 0 {
		return err
	}
	if _, ok := recoveryCode(code); !ok || !recovery {
		return errMFACode
	}
	return k.checkSecondFactor(ctx, Factor{UserID: userID, Kind: FactorPasskey}, code, true)
}

// hasActiveTOTP reports whether the user has an active TOTP authenticator.
func (k *Kit) hasActiveTOTP(ctx context.Context, userID string) (bool, error) {
	f, err := k.mfa.store.FactorOf(ctx, userID, FactorTOTP)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return f.Active, nil
}

// hasPasskey reports whether passkeys are on and the user has one.
func (k *Kit) hasPasskey(ctx context.Context, userID string) (bool, error) {
	if !k.passkey.on {
		return false, nil
	}
	ps, err := k.passkey.store.PasskeysOf(ctx, userID)
	return len(ps) > 0, err
}

// boundedPasskeyStore is a PasskeyStore under the bound: every call is
// on a request's path.
type boundedPasskeyStore struct {
	PasskeyStore
	bound storeBound
}

func (s boundedPasskeyStore) CreatePasskey(ctx context.Context, p Passkey, codes []string) error {
	return call0(s.bound, ctx, "CreatePasskey", func(ctx context.Context) error { return s.PasskeyStore.CreatePasskey(ctx, p, codes) })
}

func (s boundedPasskeyStore) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error) {
	return call(s.bound, ctx, "PasskeyByCredentialID", func(ctx context.Context) (Passkey, error) {
		return s.PasskeyStore.PasskeyByCredentialID(ctx, credentialID)
	})
}

func (s boundedPasskeyStore) PasskeysOf(ctx context.Context, userID string) ([]Passkey, error) {
	return call(s.bound, ctx, "PasskeysOf", func(ctx context.Context) ([]Passkey, error) { return s.PasskeyStore.PasskeysOf(ctx, userID) })
}

func (s boundedPasskeyStore) UsePasskey(ctx context.Context, userID, id string, from, count uint32, at time.Time) (bool, error) {
	return call(s.bound, ctx, "UsePasskey", func(ctx context.Context) (bool, error) {
		return s.PasskeyStore.UsePasskey(ctx, userID, id, from, count, at)
	})
}

func (s boundedPasskeyStore) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return call0(s.bound, ctx, "RenamePasskey", func(ctx context.Context) error { return s.PasskeyStore.RenamePasskey(ctx, userID, id, name) })
}

func (s boundedPasskeyStore) DeletePasskey(ctx context.Context, userID, id string) error {
	return call0(s.bound, ctx, "DeletePasskey", func(ctx context.Context) error { return s.PasskeyStore.DeletePasskey(ctx, userID, id) })
}

func (s boundedPasskeyStore) DeleteFactor(ctx context.Context, userID string, kind FactorKind) error {
	return call0(s.bound, ctx, "DeleteFactor", func(ctx context.Context) error { return s.PasskeyStore.DeleteFactor(ctx, userID, kind) })
}

// passkeyStore is a PasskeyStore under the bound (nil stays nil).
func (b storeBound) passkeyStore(s PasskeyStore) PasskeyStore {
	if s == nil || b.off() {
		return s
	}
	return boundedPasskeyStore{PasskeyStore: s, bound: b}
}

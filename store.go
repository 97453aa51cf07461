package authkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"maps"
	"slices"
	"time"
)

// Errors a store returns. Callers test for them with [errors.Is]; a store may
// wrap them with more context.
var (
	// ErrNotFound: no such record, or (for tokens) it expired or was spent.
	ErrNotFound = errors.New("authkit: not found")
	// ErrDuplicate: a unique key (user id, email, phone, provider identity,
	// session id, token hash) is already taken.
	ErrDuplicate = errors.New("authkit: duplicate")
	// ErrConflict: a conditional write ([UserUpdate.If]) found the record
	// changed since it was read, and wrote nothing.
	ErrConflict = errors.New("authkit: conflict")
)

// ProviderAltogic is the provider of accounts that sign in with a password.
// The name is the one the Altogic client and its apps expect.
const ProviderAltogic = "altogic"

// User is an account. Only the fields with a json tag (and Profile, merged at
// the top level) ever reach a client: PasswordHash never does.
type User struct {
	ID             string
	Provider       string // ProviderAltogic or an OAuth provider's name
	ProviderUserID string // the provider's id; equal to ID for ProviderAltogic
	Email          string // lower-cased; empty when the account has none
	EmailVerified  bool
	Phone          string // E.164; empty when the account has none
	PhoneVerified  bool
	Name           string
	ProfilePicture string
	// PasswordHash is a PHC string (argon2id) or a legacy bcrypt hash; empty
	// for accounts that cannot sign in with a password.
	PasswordHash string
	// Profile holds the extra fields the app sent at sign-up, each a JSON value.
	Profile     map[string]json.RawMessage
	SignUpAt    time.Time
	LastLoginAt time.Time
	// Stamp is the credential stamp: an opaque value that changes whenever
	// the password is set or reset and whenever every session is ended. A
	// session, a grant key, a sign-in link or code carries the stamp it was
	// made under, and is dead once the user's stamp moves on. "" is a stamp
	// like any other (the one of accounts made before stamps existed).
	Stamp string
	// AccessGroups are the keys of the access groups the user is in
	// (roles, such as "admin"), each once, in order; nil or empty is none.
	// The kit answers them as a session's accessGroupKeys, and
	// [Kit.RequireAccessGroup] lets through the sessions whose user is in
	// a group it names. Only the host sets them: a client never can.
	AccessGroups []string
	// Disabled users cannot sign in, and their sessions do not work.
	Disabled bool
	// ServerData is the host's data about the user, each a JSON value: set
	// only from Go (the admin operations and the hooks), never by a
	// client, and on the wire only for the keys Config.PublicServerData
	// names.
	ServerData map[string]json.RawMessage
}

// Session is a signed-in device. The token that authenticates it is never
// stored: only its SHA-256 (TokenHash). ID is a public handle that names the
// session in listings and sign-out requests and is no credential.
type Session struct {
	ID         string
	TokenHash  string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time // moved forward (coarsely) as the session is used
	ExpiresAt  time.Time // absolute end, whatever the activity
	UserAgent  UserAgent
	IP         string
	// Stamp is the user's credential stamp when the credential that made
	// this session was checked (see [User.Stamp]). The session is alive
	// only while the user's stamp is the same.
	Stamp string
	// Factors is the session's assurance: how many factors its sign-in
	// proved, 1 (a password, a link, a code or a provider) or 2 (one of
	// those and a second factor, see [Config.MFA]). Stores keep it as
	// given; sessions stored before it existed read as 1.
	Factors int
	// AccessGroupKeys are the user's access groups ([User.AccessGroups])
	// when the kit hands the session out ([SessionFromContext], the
	// answers). It is not the store's: a store neither keeps nor returns
	// it.
	AccessGroupKeys []string
}

// UserAgent is a parsed User-Agent header, shaped as ua-parser reports it.
type UserAgent struct {
	Family string `json:"family"`
	Major  string `json:"major"`
	Minor  string `json:"minor"`
	Patch  string `json:"patch"`
	Device Device `json:"device"`
	OS     OS     `json:"os"`
}

// Device is the device part of a [UserAgent].
type Device struct {
	Family string `json:"family"`
	Major  string `json:"major"`
	Minor  string `json:"minor"`
	Patch  string `json:"patch"`
}

// OS is the operating-system part of a [UserAgent].
type OS struct {
	Family string `json:"family"`
	Major  string `json:"major"`
	Minor  string `json:"minor"`
	Patch  string `json:"patch"`
}

// TokenPurpose says what a one-time token is for. A token is only ever
// accepted for its own purpose.
type TokenPurpose string

// The purposes of the tokens the kit issues.
const (
	PurposeConfirmEmail  TokenPurpose = "email-confirm" // link: confirms Subject as the user's email
	PurposeMagicLink     TokenPurpose = "magic-link"    // link: signs the user in
	PurposeResetPassword TokenPurpose = "reset-pwd"     // link: lets the user set a new password
	PurposeChangeEmail   TokenPurpose = "change-email"  // link: makes Subject the user's email
	PurposeGrant         TokenPurpose = "grant"         // getAuthGrant key: exchanged for a session
	PurposeResetGrant    TokenPurpose = "reset-grant"   // a followed reset link's key: spent by resetPwdWithToken

	PurposeConfirmPhone TokenPurpose = "phone-confirm"  // code: confirms Subject as the user's phone
	PurposeSignInCode   TokenPurpose = "signin-code"    // code: signs the user in
	PurposeResetCode    TokenPurpose = "reset-pwd-code" // code: lets the user set a new password
	PurposeChangePhone  TokenPurpose = "change-phone"   // code: makes Subject the user's phone
	PurposeOAuthState   TokenPurpose = "oauth-state"    // an OAuth state spent by the provider's callback: a marker, written once
	PurposeTextGap      TokenPurpose = "text-gap"       // a number's resend gap taken by a text: a marker, written once per window
	PurposeMFATicket    TokenPurpose = "mfa-ticket"     // a sign-in that proved its first factor and waits for the second
)

// Token is a one-time credential: a link token, a grant key or a code. The
// secret itself is never stored, only Hash (SHA-256 of a token, keyed HMAC
// of a code).
type Token struct {
	Hash    string
	Purpose TokenPurpose
	UserID  string
	// Subject is the address the token is bound to: the email a confirmation
	// or email change is for, the phone (E.164) a code was sent to.
	Subject string
	// Action is, on a grant key, the flow that produced it (the `action` of
	// the redirect), and Link the hash of the link token that the exchange
	// must spend with it ("" when there is none).
	Action string
	Link   string
	// Attempts counts the tries spent on a code (see
	// [PhoneStore.ClaimAttempt]); it is 0 on a new token.
	Attempts int
	// Stamp is the user's credential stamp when the token was issued (see
	// [User.Stamp]).
	Stamp string
	// Data is what the kit keeps with the token, opaque to the store: at
	// most [MaxTokenData] bytes, returned as stored (nil and empty alike).
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// MaxTokenData is the most bytes of [Token.Data] a store must keep.
const MaxTokenData = 64 << 10

// Store is the core every store implements: users found by id, email and
// provider identity, sessions and one-time tokens. The memstore and sqlstore
// packages implement it; the storetest package checks an implementation
// against the contracts written here.
//
// Every method, of the core and of the capabilities, returns once its
// context ends: the kit bounds each call it makes for a request or a
// delivery by [Config.StoreTimeout] through the context, and a call that
// ignores it holds its request.
//
// What some features need beyond the core is an optional capability: an
// interface [New] finds on the Store by type assertion, and demands only
// when a feature that needs it is on. [PhoneStore] is needed by
// [Config.PhoneAuth]; [SessionUserFinder] makes every authenticated
// request one lookup instead of two; [Cleaner] lets [Kit.Cleanup] delete
// expired records in bulk; [UserLister] lets [Kit.CheckIdentifiers] check
// every stored user; a Store that is a [Limiter] counts the abuse
// limits (else [Config.Limiter] must); a [Courier] keeps the messages
// promised until they are delivered; a [RevocationLog] lets instances
// keep sessions in memory ([Config.SessionCache]).
//
// A store that wraps another by embedding it promotes the embedded store's
// capabilities too, whether or not the wrapper means to offer them: a
// wrapper that overrides the user methods of an embedded store that is a
// SessionUserFinder gets found users through the embedded store's
// SessionAndUser. Embed the interface (a field of type authkit.Store), not
// the concrete store, to offer the core alone.
type Store interface {
	UserStore
	SessionStore
	TokenStore
}

// UserStore keeps accounts. Emails are unique and found case-insensitively
// ("Ann@X.io" finds "ann@x.io"), whatever case they were stored in. Every
// method returns copies: changing a returned User changes nothing stored.
type UserStore interface {
	// CreateUser stores u. It returns ErrDuplicate if u.ID, a non-empty
	// u.Email, a non-empty u.Phone or the pair (u.Provider, u.ProviderUserID)
	// is already taken, and then stores nothing. The kit always sets
	// Provider and ProviderUserID.
	CreateUser(ctx context.Context, u User) error
	// UserByID returns the user with that id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)
	// UserByEmail returns the user with that email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserByProvider returns the user with that provider identity, or ErrNotFound.
	UserByProvider(ctx context.Context, provider, providerUserID string) (User, error)
	// UpdateUser writes the fields up.Set names, and no others, to the user
	// with that id, in one atomic step, if every field up.If names holds the
	// value given there; and when up.Set names a Stamp and up.KeepSession
	// names a session of this user, that session takes the new stamp in the
	// same step. It returns the user as stored afterwards; ErrNotFound if
	// there is no such user, ErrConflict if a field of up.If differs,
	// ErrDuplicate if the email or phone of up.Set belongs to another user.
	// On an error it changes nothing. Writers that race on one user each
	// see their own fields stored: no write undoes another's.
	UpdateUser(ctx context.Context, id string, up UserUpdate) (User, error)
	// DeleteUser deletes the user with that id, every session of theirs,
	// every token bound to them (by UserID) and, in a [FactorStore], their
	// factors and recovery codes, in one atomic step. It returns
	// ErrNotFound if there is no such user, and then deletes nothing.
	DeleteUser(ctx context.Context, id string) error
}

// UserUpdate is one write to a user: the fields it sets, the values it
// expects to find, and the session it keeps alive across a new stamp. See
// [UserStore.UpdateUser].
//
// The kit writes users this way, rather than by replacing a record it read
// before, because its flows are slow between the read and the write (a
// password hash takes tens of milliseconds): a whole record written back
// would undo whatever another flow wrote meanwhile, such as a password reset.
// A flow whose decision rests on a field it read (the hash it verified, the
// address a link was sent to, the stamp of the caller's session) names that
// field in If, so the write happens only if the decision still holds.
type UserUpdate struct {
	Set UserFields // the fields written
	If  UserFields // the fields that must hold these values, or ErrConflict
	// KeepSession is the id of a session that takes Set.Stamp in the same
	// atomic step: the caller's own, when a password change keeps it. It
	// means nothing without Set.Stamp.
	KeepSession string
}

// UserFields names some fields of a [User], with values; a nil field is not
// named. Email and Phone compare and store as given, "" meaning none.
type UserFields struct {
	Email          *string
	EmailVerified  *bool
	Phone          *string
	PhoneVerified  *bool
	Name           *string
	ProfilePicture *string
	PasswordHash   *string
	Stamp          *string
	LastLoginAt    *time.Time
	Disabled       *bool
	// Profile, AccessGroups and ServerData replace the whole map or list
	// when set; nil and empty are alike.
	Profile      *map[string]json.RawMessage
	AccessGroups *[]string
	ServerData   *map[string]json.RawMessage
}

// Matches reports whether every field f names has that value in u. Times
// compare with [time.Time.Equal], maps and lists by their contents (nil
// and empty alike; JSON values byte for byte). Stores may use it to check
// [UserUpdate.If].
func (f UserFields) Matches(u User) bool {
	return holds(f.Email, u.Email) && holds(f.EmailVerified, u.EmailVerified) &&
		holds(f.Phone, u.Phone) && holds(f.PhoneVerified, u.PhoneVerified) &&
		holds(f.Name, u.Name) && holds(f.ProfilePicture, u.ProfilePicture) &&
		holds(f.PasswordHash, u.PasswordHash) && holds(f.Stamp, u.Stamp) &&
		(f.LastLoginAt == nil || f.LastLoginAt.Equal(u.LastLoginAt)) &&
		holds(f.Disabled, u.Disabled) &&
		(f.Profile == nil || sameJSONMap(*f.Profile, u.Profile)) &&
		(f.AccessGroups == nil || slices.Equal(*f.AccessGroups, u.AccessGroups)) &&
		(f.ServerData == nil || sameJSONMap(*f.ServerData, u.ServerData))
}

// sameJSONMap reports whether a and b hold the same keys with the same
// bytes.
func sameJSONMap(a, b map[string]json.RawMessage) bool {
	return maps.EqualFunc(a, b, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}

// ApplyTo sets in u every field f names. Stores may use it to apply
// [UserUpdate.Set].
func (f UserFields) ApplyTo(u *User) {
	assign(&u.Email, f.Email)
	assign(&u.EmailVerified, f.EmailVerified)
	assign(&u.Phone, f.Phone)
	assign(&u.PhoneVerified, f.PhoneVerified)
	assign(&u.Name, f.Name)
	assign(&u.ProfilePicture, f.ProfilePicture)
	assign(&u.PasswordHash, f.PasswordHash)
	assign(&u.Stamp, f.Stamp)
	assign(&u.LastLoginAt, f.LastLoginAt)
	assign(&u.Disabled, f.Disabled)
	assign(&u.Profile, f.Profile)
	assign(&u.AccessGroups, f.AccessGroups)
	assign(&u.ServerData, f.ServerData)
}

// Revokes reports whether a write of f (the Set of an [UserUpdate]) may end
// sessions, and so is logged by a [RevocationLog]: it names a field other
// than LastLoginAt, which a sign-in alone sets.
func (f UserFields) Revokes() bool {
	f.LastLoginAt = nil
	return f != UserFields{}
}

// holds reports whether a field not named (nil) or named with v.
func holds[T comparable](p *T, v T) bool { return p == nil || *p == v }

// assign sets *dst to *p when p names a value.
func assign[T any](dst, p *T) {
	if p != nil {
		*dst = *p
	}
}

// SessionStore keeps sessions. Sessions are returned as stored, expired or
// not: the kit judges expiry.
type SessionStore interface {
	// CreateSession stores s; ErrDuplicate if s.ID or s.TokenHash is taken.
	CreateSession(ctx context.Context, s Session) error
	// SessionByTokenHash returns the session with that token hash, or
	// ErrNotFound. It runs on every authenticated request: keep it to one
	// indexed lookup.
	SessionByTokenHash(ctx context.Context, tokenHash string) (Session, error)
	// ListSessions returns the user's sessions, oldest first (by CreatedAt,
	// then ID); none is an empty result, not an error.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// TouchSession sets the session's LastSeenAt. A missing session is a
	// no-op and returns nil.
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	// DeleteSession removes the session with that id if it belongs to
	// userID, and reports whether it did. A missing one is not an error.
	DeleteSession(ctx context.Context, userID, id string) (bool, error)
	// DeleteUserSessions removes every session of the user except the one
	// whose id is exceptID ("" removes them all).
	DeleteUserSessions(ctx context.Context, userID, exceptID string) error
}

// TokenStore keeps one-time tokens.
type TokenStore interface {
	// CreateToken stores t and, when t.UserID is not empty, deletes in the
	// same atomic step every other token with the same UserID and Purpose: a
	// new token voids older ones. It returns ErrDuplicate if t.Hash is
	// taken, and then changes nothing. It is atomic: however many callers
	// race to create one hash, exactly one succeeds and the others get
	// ErrDuplicate, which is how the kit spends an OAuth state once.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token with that hash without spending it, or
	// ErrNotFound if there is none or it expired (ExpiresAt is not after now).
	TokenByHash(ctx context.Context, hash string, now time.Time) (Token, error)
	// ConsumeToken deletes and returns the token with that hash and purpose.
	// It returns ErrNotFound if there is none, it has another purpose (and
	// then leaves it be), or it expired (which it may delete). It is atomic:
	// however many callers race to consume one token, exactly one gets it.
	ConsumeToken(ctx context.Context, purpose TokenPurpose, hash string, now time.Time) (Token, error)
	// DeleteUserTokens deletes the user's tokens of the given purposes; with
	// no purposes it deletes nothing.
	DeleteUserTokens(ctx context.Context, userID string, purposes ...TokenPurpose) error
	// TokensBySubject returns the unexpired tokens of that purpose bound to
	// subject, newest first (by CreatedAt, then Hash); none is an empty
	// result, not an error. The kit finds the sign-ups that wait for an
	// address this way (a few at most: the limits bound them).
	TokensBySubject(ctx context.Context, purpose TokenPurpose, subject string, now time.Time) ([]Token, error)
}

// PhoneStore is what phone accounts need of a [Store] beyond the core:
// users found by number, and codes found by the number they were sent to
// with a count of the tries spent on each. [New] demands it when
// [Config.PhoneAuth] is On.
type PhoneStore interface {
	// UserByPhone returns the user with that phone, or ErrNotFound.
	UserByPhone(ctx context.Context, phone string) (User, error)
	// LatestToken returns the newest unexpired token of that purpose bound
	// to subject (by CreatedAt, then Hash), or ErrNotFound. A code is found
	// this way, by the phone it was sent to, before its guess is checked.
	LatestToken(ctx context.Context, purpose TokenPurpose, subject string, now time.Time) (Token, error)
	// ClaimAttempt counts one try against the unexpired token with that hash
	// if fewer than max tries were counted on it before, and reports whether
	// it did. It is atomic: however many callers race, at most max of them
	// ever get true for one token. A caller checks a guess only after a
	// claim succeeds, so no code is ever checked more than max times.
	ClaimAttempt(ctx context.Context, hash string, max int, now time.Time) (bool, error)
}

// UserLister is a [Store] that can go through every user: for the
// operator's checks of stored data ([Kit.CheckIdentifiers]), for exports
// and for the host's listings ([Kit.ListUsers]). Nothing on a request's
// path uses it.
type UserLister interface {
	// AllUsers yields every user once, as copies; an error
	// ends the sequence (yielded with a zero User). Users created or
	// deleted while it runs may or may not be yielded. It holds no lock or
	// connection while the caller handles a user, so the caller may use
	// the store meanwhile.
	AllUsers(ctx context.Context) iter.Seq2[User, error]
	// ListUsers returns up to limit users whose ID sorts after after
	// (byte-wise; "" starts at the first), in that order: a page of a
	// listing that the last ID of the page continues. Fewer than limit
	// means the listing ended.
	ListUsers(ctx context.Context, after string, limit int) ([]User, error)
}

// SessionUserFinder is a [Store] that finds a session and its user
// together, in one round trip to the database. [Kit.RequireSession] uses it
// when the store has it, instead of two lookups.
type SessionUserFinder interface {
	// SessionAndUser returns the session with that token hash and the user
	// it belongs to, or ErrNotFound if there is no such session (or, which
	// a store with foreign keys rules out, no such user).
	SessionAndUser(ctx context.Context, tokenHash string) (Session, User, error)
}

// RevocationLog is a [Store] that records, in order, every change that
// may end a session: a session deleted, a user's sessions deleted, a user
// changed or deleted. Instances that keep sessions in memory
// ([Config.SessionCache]) read it to learn what another instance (or
// cmd/authkit) revoked. [New] demands it when the cache is on.
//
// The store appends to it itself, in the same atomic step as the change:
//   - DeleteSession that deleted a session: {UserID, SessionID};
//   - DeleteUserSessions: {UserID, ""}, whether or not it deleted any;
//   - UpdateUser that wrote, when up.Set names any field other than
//     LastLoginAt ([UserFields.Revokes]): {UserID, ""};
//   - DeleteUser: {UserID, ""}.
//
// Seq numbers the revocations 1, 2, 3, ... with no gaps, in the order
// their changes took effect: once a reader has seen Seq n, no revocation
// it has not seen will ever have a Seq of n or less. A change that fails
// logs nothing and takes no number.
type RevocationLog interface {
	// Revocations returns up to limit revocations whose Seq is after
	// after, by Seq; none is an empty result, not an error. Revocations
	// a Cleaner deleted are missing: the first returned is then after
	// after+1.
	Revocations(ctx context.Context, after int64, limit int) ([]Revocation, error)
	// LastRevocation returns the Seq of the newest revocation ever
	// logged (deleted or not), or 0 if none was.
	LastRevocation(ctx context.Context) (int64, error)
}

// Revocation is one entry of a [RevocationLog].
type Revocation struct {
	Seq    int64
	UserID string
	// SessionID is the session that was deleted, or "" when any session
	// of the user may have ended or changed (its user did).
	SessionID string
	// At is when it was logged, by the store's clock: for its deletion
	// after RevocationRetention, never for its order.
	At time.Time
}

// RevocationRetention is how long a [Cleaner] that is a [RevocationLog]
// keeps revocations: DeleteExpired deletes those logged before now minus
// RevocationRetention. An instance whose cache fell further behind than
// that empties it.
const RevocationRetention = time.Hour

// RevocationNotifier tells instances that revocations were logged, sooner
// than their next read of the [RevocationLog]: PostgreSQL's LISTEN/NOTIFY
// (a sqlstore on PostgreSQL is one) or Redis pub/sub (the redispush
// package). A notice only makes an instance read the log at once; the log
// stays the source of what was revoked, so a lost notice costs time, never
// a revocation.
type RevocationNotifier interface {
	// Notify tells every listening instance that revocations were logged.
	// A store that notifies in the same step as it logs may do nothing.
	Notify(ctx context.Context) error
	// Listen calls wake each time any instance notifies, until ctx ends,
	// and then returns ctx's error; it returns another error when it
	// cannot listen (errors.ErrUnsupported when it never can, as a
	// sqlstore on SQLite or MySQL), and the kit tries again later.
	Listen(ctx context.Context, wake func()) error
}

// Cleaner is a [Store] that can delete what has expired in bulk.
// [Kit.Cleanup] calls it; a store without it drops an expired record only
// when it comes across it.
type Cleaner interface {
	// DeleteExpired deletes every token whose ExpiresAt is not after now,
	// every session that expired (ExpiresAt not after now) or has been idle
	// (LastSeenAt not after idleSince) and, in a store that is also a
	// [Limiter], every limit count whose window ended (its end not after
	// now) and, in a store that is also a [RevocationLog], every
	// revocation logged before now minus [RevocationRetention]; and it
	// reports how many records it deleted.
	DeleteExpired(ctx context.Context, now, idleSince time.Time) (int64, error)
}

// IntentState is where an [Intent] is in its delivery.
type IntentState string

// The states of an [Intent].
const (
	IntentPending   IntentState = "pending"   // waits for NextAt
	IntentLeased    IntentState = "leased"    // a worker delivers it, until LeaseUntil
	IntentDelivered IntentState = "delivered" // sent (or found to need no message)
	IntentDead      IntentState = "dead"      // given up: a dead letter, until retried
)

// Intent is a message the kit promised in an answer: a link, a code or a
// notice to one address or number, recorded before the answer and delivered
// after it by the kit's courier (see [Kit.Flush]). It names what to send,
// not the message: no link, code or body is ever in it. The kit derives the
// link or code at delivery from its secret and ID.
type Intent struct {
	ID     string
	Kind   string // the flow it comes from, as the kit names it
	To     string // the email address or phone number (E.164)
	UserID string // the account it concerns, when the request knew it; else ""
	// IP and UserAgent are the asking client's, for the per-network caps
	// and the logs of the delivery.
	IP, UserAgent string
	// Data is what the kit keeps for the delivery, opaque to the store (at
	// most [MaxTokenData] bytes): nil for most kinds. A store deletes it
	// when the intent is delivered.
	Data  []byte
	State IntentState
	// Tries counts the leases taken on it: one per try.
	Tries      int
	NextAt     time.Time // when it is due, while pending
	LeaseOwner string    // who holds the lease, while leased
	LeaseUntil time.Time // when the lease runs out, while leased
	LastError  string    // why the last try failed; "" when none did
	CreatedAt  time.Time
	UpdatedAt  time.Time // when its state last changed
}

// IntentOutcome is what a try of an [Intent] came to: see
// [Courier.FinishIntent].
type IntentOutcome struct {
	State     IntentState // IntentPending (try again at NextAt), IntentDelivered or IntentDead
	NextAt    time.Time   // when IntentPending
	LastError string
	At        time.Time // now: the intent's new UpdatedAt
}

// Courier is a [Store] that keeps intents: the messages the kit promised
// and has yet to deliver, so that a crash, a restart or a provider's outage
// loses none, and so that instances sharing the store deliver each once.
// [New] finds it by type assertion; without it the kit sends from
// goroutines in the process, as releases before this one did, and says so
// in a warning.
type Courier interface {
	// CreateIntent stores i, which is pending. It returns ErrDuplicate if
	// i.ID is taken, and then stores nothing.
	CreateIntent(ctx context.Context, i Intent) error
	// ClaimIntents leases up to max due intents to owner until until, and
	// returns them as leased: State IntentLeased, LeaseOwner owner,
	// LeaseUntil until, Tries one more than before. Due are the pending
	// intents whose NextAt is not after now and the leased ones whose
	// LeaseUntil is not after now (their worker died or hangs), oldest
	// NextAt first. It is atomic: however many callers race, an intent is
	// claimed by one of them, and not again while its lease runs. None due
	// is an empty result, not an error.
	ClaimIntents(ctx context.Context, owner string, now, until time.Time, max int) ([]Intent, error)
	// FinishIntent writes the outcome of a try to the intent with that id,
	// if it is still leased to owner; Data is deleted when the outcome is
	// IntentDelivered. It returns ErrConflict, and changes nothing, if the
	// intent is not leased to owner (its lease ran out and another worker
	// claimed it), and ErrNotFound if there is no such intent.
	FinishIntent(ctx context.Context, id, owner string, out IntentOutcome) error
	// DeadIntents returns the dead intents, oldest first (by UpdatedAt,
	// then ID); none is an empty result, not an error.
	DeadIntents(ctx context.Context) ([]Intent, error)
	// RetryIntent makes the dead intent with that id pending again, due at
	// now, with no tries counted. It returns ErrNotFound if there is no
	// dead intent with that id.
	RetryIntent(ctx context.Context, id string, now time.Time) error
	// DeleteFinishedIntents deletes the delivered intents whose UpdatedAt
	// is not after deliveredBefore and the dead ones whose UpdatedAt is not
	// after deadBefore, and reports how many it deleted.
	DeleteFinishedIntents(ctx context.Context, deliveredBefore, deadBefore time.Time) (int64, error)
}

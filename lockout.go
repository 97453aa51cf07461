package authkit

// Failed sign-ins (SECURITY 9, 54, 55, 56, 58): wrong guesses are counted
// per identifier and source (Limits.FailedSignIns) under a ceiling per
// identifier (Limits.FailedSignInsPerAccount), so that an attacker locks
// out his own addresses rather than the owner; and a browser that signed
// in to an account before carries a device cookie that makes it a source
// of its own, which no one else's failures can lock.
//
// Identifiers are what a sign-in typed (an email, a number), never the
// account behind them: the counts of an account's email and of its number
// are apart, so that a limit never tells that the two share an account.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// attempt names the counts that a guess at an identifier goes to.
type attempt struct {
	source  string // the key of FailedSignIns: the identifier from this source
	ceiling string // the key of FailedSignInsPerAccount: from every source
	userID  string // the account that has the identifier, or "", for the logs
}

// attemptAt is a guess from the request's client at identifier: kind
// "email" or "phone" for what a sign-in or code route was given, "user"
// for the current password of a signed-in account (its id is then the
// identifier). userID is the account that has the identifier, "" for none
// or when it was not looked up. The source is the browser, when it holds
// the device cookie of that account, else the client IP (IPv6: its /64).
func (k *Kit) attemptAt(ctx context.Context, kind, identifier, userID string) attempt {
	id := limitDigest(kind + "\x00" + identifier)
	source := "ip:" + ipKey(clientOf(ctx).ip)
	if dev, ok := k.deviceOf(ctx, userID); ok {
		source = "device:" + dev
	}
	return attempt{source: "fail:" + id + ":" + source, ceiling: "fail-all:" + id, userID: userID}
}

// guess counts a guess before it is checked: past FailedSignIns for its
// source, or past FailedSignInsPerAccount, it refuses without checking,
// which costs no hash. A guess its source's limit refuses does not reach
// the ceiling, so a single source cannot spend it. Counting first, rather
// than counting failures after, holds the limits exactly against guesses
// raced in parallel; a success calls guessedRight, which clears the
// counts, so in effect failures are what is counted.
func (k *Kit) guess(ctx context.Context, a attempt) error {
	if err := k.hit(ctx, k.limits.failed, "FailedSignIns", a.source, a.userID); err != nil {
		return err
	}
	return k.hit(ctx, k.limits.failedPerAccount, "FailedSignInsPerAccount", a.ceiling, a.userID)
}

// guessedRight clears the counts of a after a success: the identifier's
// failures from this source and from every source. The identifier's other
// sources keep theirs until their windows end.
func (k *Kit) guessedRight(ctx context.Context, a attempt) error {
	for _, c := range []struct {
		on  bool
		key string
	}{{k.limits.failed.on(), a.source}, {k.limits.failedPerAccount.on(), a.ceiling}} {
		if !c.on || limiterSkipped(ctx) {
			continue
		}
		if err := k.limits.limiter.Reset(ctx, c.key); err != nil {
			return k.limiterFailed(ctx, "clearing failed sign-ins", err)
		}
	}
	return nil
}

// The device cookie binds a browser to one account it signed in to: a
// random device id and the account's id, until an expiry, signed with a
// key derived from the current secret (and recognised under any secret in
// use, Config.Secrets). It is no credential: it signs nobody in
// and reaches no session. It only makes the browser a source of its own
// for FailedSignIns when it signs in to that account again, so that the
// failures an attacker sends from elsewhere (or from the same IP, such as
// a shared NAT) do not lock it out; FailedSignInsPerAccount still holds.
//
// The cookie is HttpOnly, Secure when PublicURL is https (then also with
// the __Host- prefix, so a sibling subdomain cannot replace it), Path=/
// (every route the kit serves, at the root or under a prefix), and
// SameSite=Strict: the kit reads it only on the app's own fetches to the
// sign-in routes, never on a navigation from elsewhere, and a cross-site
// page must not be able to spend the device's allowance by posting wrong
// passwords from the owner's browser. Browsers send and accept such a
// cookie only where the app and the kit are same-site (one registrable
// domain, such as app.example.com and api.example.com); elsewhere sign-ins
// are limited by IP alone.

// deviceCookieName is the device cookie's name, with the __Host- prefix
// when PublicURL is https.
const deviceCookieName = "authkit_device"

// deviceLifetime is how long a browser stays known after it last signed in.
const deviceLifetime = 365 * 24 * time.Hour

// maxDeviceCookie bounds the device cookie the kit reads: its own are
// under 300 bytes.
const maxDeviceCookie = 512

// configureDevices readies the device cookie: its name, whether it is
// Secure, and the key that signs it.
func (k *Kit) configureDevices() {
	l := &k.limits
	l.deviceKeys = k.subkeys("device cookie")
	l.secureCookies = strings.HasPrefix(k.publicURL, "https://")
	l.deviceCookie = deviceCookieName
	if l.secureCookies {
		l.deviceCookie = "__Host-" + deviceCookieName
	}
}

// deviceValue is the device cookie that binds the request's browser to
// the account userID for another deviceLifetime: with the device id that
// the browser holds for that account already, or with a new one.
func (k *Kit) deviceValue(ctx context.Context, userID string) (string, error) {
	dev, ok := k.deviceOf(ctx, userID)
	if !ok {
		var err error
		if dev, err = k.newToken(); err != nil {
			return "", err
		}
	}
	exp := strconv.FormatInt(k.clock().Add(deviceLifetime).Unix(), 10)
	payload := dev + "." + base64.RawURLEncoding.EncodeToString([]byte(userID)) + "." + exp
	return payload + "." + deviceMAC(k.limits.deviceKeys[0], payload), nil
}

// deviceOf returns the device id of the request's device cookie when the
// kit signed it, it has not expired, and it is bound to the account userID
// ("" matches none).
func (k *Kit) deviceOf(ctx context.Context, userID string) (string, bool) {
	v := clientOf(ctx).device
	if userID == "" || v == "" {
		return "", false
	}
	dot := strings.LastIndexByte(v, '.')
	if dot < 0 {
		return "", false
	}
	payload, mac := v[:dot], v[dot+1:]
	if !slices.ContainsFunc(k.limits.deviceKeys, func(key []byte) bool {
		return hmac.Equal([]byte(mac), []byte(deviceMAC(key, payload)))
	}) {
		return "", false
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] == "" {
		return "", false
	}
	bound, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || string(bound) != userID {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || k.clock().Unix() >= exp {
		return "", false
	}
	return parts[0], true
}

// deviceMAC signs the payload of a device cookie with key: the current
// secret's to make one, any secret's in use to check one.
func deviceMAC(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

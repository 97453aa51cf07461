package authkit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// SMS codes (SECURITY 11, 13-15): uniform digits from Config.Rand, kept
// only as a keyed HMAC bound to their purpose and number, the newest of a
// purpose and number the only one that works, a few tries each, spent
// atomically, and at most one texted to a number per CodeResendGap, across
// instances (textgap.go).

var errInvalidCode = newError(CodeInvalidCode, "The code is not valid: it is wrong, has expired, was used already or was tried too often. Ask for a new one.")

// codePurposes are the purposes of the tokens that are SMS codes.
var codePurposes = []TokenPurpose{PurposeConfirmPhone, PurposeSignInCode, PurposeResetCode, PurposeChangePhone}

// newCode returns CodeLength decimal digits drawn uniformly from
// Config.Rand, leading zeros kept.
func (k *Kit) newCode() (string, error) {
	n := k.phone.codeLength
	v, err := rand.Int(k.rand, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	if err != nil {
		return "", fmt.Errorf("authkit: reading randomness: %w", err)
	}
	s := v.String()
	return strings.Repeat("0", n-len(s)) + s, nil
}

// codeHash is how a code is kept: an HMAC under a key derived from the
// current secret, over the purpose and number it was sent for. A leaked
// table of hashes cannot be searched for the few million codes without
// the secret, and a code matches nowhere but where it was sent.
func (k *Kit) codeHash(purpose TokenPurpose, phone, code string) string {
	return codeHMAC(k.phone.codeKeys[0], purpose, phone, code)
}

// codeHashes are the hashes a code may be kept under: codeHash's first,
// then those under the secrets being rotated out, for codes sent before
// the current secret was put first.
func (k *Kit) codeHashes(purpose TokenPurpose, phone, code string) []string {
	hashes := make([]string, len(k.phone.codeKeys))
	for i, key := range k.phone.codeKeys {
		hashes[i] = codeHMAC(key, purpose, phone, code)
	}
	return hashes
}

func codeHMAC(key []byte, purpose TokenPurpose, phone, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(string(purpose) + "\x00" + phone + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// wellFormedCode says whether s could be a code at all: CodeLength ASCII
// digits. Anything else is refused without spending a try.
func (k *Kit) wellFormedCode(s string) bool {
	if len(s) != k.phone.codeLength {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// textCode issues the code t, of its purpose and bound to its subject
// (which voids the older codes of that purpose of t's user), and texts it
// with tpl, naming name. When a code went to that number less than
// CodeResendGap ago, the number's region is not in Limits.SMSCountries,
// Limits.SMSPerNumber is reached or Limits.SMSBudget is spent, it does
// neither, and the code sent before keeps working; but keep stores the
// code even then, untexted: a waiting sign-up must wait, texted or not
// (see resendVerificationCode).
func (k *Kit) textCode(ctx context.Context, t Token, name string, tpl smsTemplate, keep bool) error {
	phone := t.Subject
	allowed := k.textAllowed(ctx, phone, tokenUser(t))
	if !allowed && !keep {
		return nil
	}
	code, err := k.issuedBefore(ctx, t)
	if err != nil {
		return err
	}
	if code == "" {
		if code, err = k.issueCode(ctx, t, allowed, keep); err != nil || code == "" {
			return err
		}
	}
	if t.Purpose == PurposeConfirmPhone || t.Purpose == PurposeChangePhone {
		name = "" // the number is anyone's until it confirms (see MessageData.Name)
	}
	m, err := tpl.render(phone, MessageData{AppName: k.appName, Code: code, Phone: phone, Name: name, ExpiresIn: k.phone.codeLifetime})
	if err != nil {
		return err
	}
	// Bounded here too: sign-up and changePhone text while the caller waits.
	if err := k.sendText(ctx, m); err != nil {
		return err
	}
	k.log.InfoContext(ctx, "authkit: code texted", "user", tokenUser(t), "purpose", string(t.Purpose))
	return nil
}

// issuedBefore returns the code of the intent being delivered if a try
// before this one stored it (and it is live), so that this try texts it
// again rather than issue another or be held back by the resend gap of
// its own code; "" otherwise.
func (k *Kit) issuedBefore(ctx context.Context, t Token) (string, error) {
	i, ok := intentOf(ctx)
	if !ok || i.Tries <= 1 {
		return "", nil
	}
	code := k.intentCode(i)
	_, err := k.store.TokenByHash(ctx, k.codeHash(t.Purpose, t.Subject, code), k.clock())
	switch {
	case err == nil:
		return code, nil
	case errors.Is(err, ErrNotFound):
		return "", nil
	default:
		return "", err
	}
}

// nextCode is the code issueCode stores: the intent's, in a delivery
// (see intentCode), else a fresh one.
func (k *Kit) nextCode(ctx context.Context) (string, error) {
	if i, ok := intentOf(ctx); ok {
		return k.intentCode(i), nil
	}
	return k.newCode()
}

// userCode is the token of a code of that purpose for u, sent to phone.
func userCode(u User, purpose TokenPurpose, phone string) Token {
	return Token{Purpose: purpose, UserID: u.ID, Subject: phone, Stamp: u.Stamp}
}

// issueCode stores the new code t and returns it, or returns "" when the
// code may not be texted: sendable is false, a code went to the number
// less than CodeResendGap ago (from any instance: see claimTextGap), or a
// cap on texts holds it back. With keep, it stores the code then too.
func (k *Kit) issueCode(ctx context.Context, t Token, sendable, keep bool) (string, error) {
	phone := t.Subject
	now := k.clock()
	release := func() {}
	if sendable {
		r, ok, err := k.claimTextGap(ctx, phone, now)
		if err != nil {
			return "", err
		}
		if ok {
			release = r
		} else {
			k.log.InfoContext(ctx, "authkit: code not texted: the number got one less than CodeResendGap ago", "user", tokenUser(t), "purpose", string(t.Purpose))
			sendable = false
		}
	}
	// Counted here, past the gap, where a text will go: a request that
	// texts nothing spends no cap.
	if sendable {
		ok, err := k.textsAllowed(ctx, phone, tokenUser(t))
		if err != nil {
			release()
			return "", err
		}
		sendable = ok
	}
	// Spent here, past the gap and before the new code voids the old one.
	if sendable {
		ok, err := k.textBudget(ctx, tokenUser(t))
		if err != nil {
			release()
			return "", err
		}
		sendable = ok
	}
	if !sendable {
		release() // a text held back keeps no one waiting
		if !keep {
			return "", nil
		}
		_, err := k.storeCode(ctx, t, now)
		return "", err
	}
	code, err := k.storeCode(ctx, t, now)
	if err != nil {
		release()
		return "", err
	}
	return code, nil
}

// storeCode stores t as a fresh code made at now and returns the code.
func (k *Kit) storeCode(ctx context.Context, t Token, now time.Time) (string, error) {
	// A live code of this purpose and number with the same digits has the
	// same hash: draw again (one chance in a million).
	for range 3 {
		code, err := k.nextCode(ctx)
		if err != nil {
			return "", err
		}
		t.Hash, t.CreatedAt, t.ExpiresAt = k.codeHash(t.Purpose, t.Subject, code), now, now.Add(k.phone.codeLifetime)
		err = k.store.CreateToken(ctx, t)
		if errors.Is(err, ErrDuplicate) {
			continue
		}
		if err != nil {
			return "", err
		}
		return code, nil
	}
	return "", errors.New("authkit: three fresh codes in a row matched live ones")
}

// matchCode checks guess against the newest live code of one of purposes
// sent to phone, without spending it (spendCode does). The try is counted
// before the guess is compared, atomically in the store, so no code is ever
// compared more than CodeMaxAttempts times, however many guess at once;
// after that even the right code fails.
func (k *Kit) matchCode(ctx context.Context, phone, guess string, purposes ...TokenPurpose) (Token, error) {
	if !k.wellFormedCode(guess) {
		return Token{}, errInvalidCode
	}
	now := k.clock()
	var t Token
	for _, p := range purposes {
		c, err := k.phone.store.LatestToken(ctx, p, phone, now)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Token{}, internalError(err)
		}
		if t.Hash == "" || c.CreatedAt.After(t.CreatedAt) {
			t = c
		}
	}
	if t.Hash == "" {
		k.event(ctx, "code refused", "")
		return Token{}, errInvalidCode
	}
	claimed, err := k.phone.store.ClaimAttempt(ctx, t.Hash, k.phone.maxAttempts, now)
	if err != nil {
		return Token{}, internalError(err)
	}
	if !claimed {
		k.event(ctx, "code refused", t.UserID)
		return Token{}, errInvalidCode
	}
	for _, h := range k.codeHashes(t.Purpose, phone, guess) {
		if hmac.Equal([]byte(h), []byte(t.Hash)) {
			return t, nil
		}
	}
	// Sign-ups that wait for the number never void each other: a later one
	// (an attacker's) must not stop the owner's own code from working. The
	// guess, counted against the newest code above, may be any waiting
	// sign-up's, under any secret in use.
	if slices.Contains(purposes, PurposeConfirmPhone) {
		for _, h := range k.codeHashes(PurposeConfirmPhone, phone, guess) {
			w, err := k.store.TokenByHash(ctx, h, now)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return Token{}, internalError(err)
			}
			if err == nil && pending(w) && w.Purpose == PurposeConfirmPhone && w.Subject == phone {
				return w, nil
			}
		}
	}
	k.event(ctx, "code refused", t.UserID)
	return Token{}, errInvalidCode
}

// spendCode consumes a code matchCode accepted. Of the requests that race
// to spend one code, one gets it and the others an invalid_code. A spent
// code holds back the next text no more (see giveBackTextGap).
func (k *Kit) spendCode(ctx context.Context, t Token) (Token, error) {
	now := k.clock()
	t, err := k.store.ConsumeToken(ctx, t.Purpose, t.Hash, now)
	if errors.Is(err, ErrNotFound) {
		return Token{}, errInvalidCode
	}
	if err != nil {
		return Token{}, internalError(err)
	}
	k.giveBackTextGap(ctx, t, now)
	return t, nil
}

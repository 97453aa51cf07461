package authkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authkit/authkit/internal/breached"
	"github.com/authkit/authkit/internal/phonenum"
)

const (
	maxEmailLen = 254
	// maxPasswordRunes is the longest password accepted: far above any real
	// one, far below what would make hashing a weapon.
	maxPasswordRunes = 256
	maxProfileFields = 32
	maxProfileKeyLen = 64
	// maxNameLen bounds a name, in characters: one line of a greeting.
	maxNameLen = 100
)

// normalizeEmail checks an address and returns its canonical form: the
// one form the kit stores, looks up, counts limits by and links OAuth
// sign-ins on, whatever way of writing it came in (see [emailaddr.Policy]:
// Config.InternationalEmail says whether local parts may leave ASCII). It
// takes a bare address ("ann@example.com"), never a display name or a list.
func (k *Kit) normalizeEmail(s string) (string, error) {
	e, ok := k.emailPolicy.Canonical(s)
	if !ok {
		return "", errInvalidEmail
	}
	return e, nil
}

var errInvalidEmail = newError(CodeInvalidEmail, "Enter an email address such as name@example.com.")

// queryEmail reads an email from the query. The client puts it there
// unencoded, so a '+' arrives as a space; an address holds no space, so a
// space is read back as '+'.
func (k *Kit) queryEmail(raw string) (string, error) {
	return k.normalizeEmail(strings.ReplaceAll(raw, " ", "+"))
}

// normalizePhone checks a phone number and returns its stored form, E.164
// ("+15555555555"); see [phonenum.Normalize] for what it takes. A number
// that costs its sender money (premium rate, satellite…) is refused unless
// Config.CostlyNumbers allows its kind.
func (k *Kit) normalizePhone(s string) (string, error) {
	e164, ok := phonenum.Normalize(s)
	if !ok {
		return "", errInvalidPhone
	}
	return k.affordable(e164)
}

// queryPhone reads a phone number from the query, where '+' may arrive as
// a space.
func (k *Kit) queryPhone(raw string) (string, error) {
	e164, ok := phonenum.Query(raw)
	if !ok {
		return "", errInvalidPhone
	}
	return k.affordable(e164)
}

// affordable passes a normalised number unless it is of a costly kind that
// Config.CostlyNumbers does not allow.
func (k *Kit) affordable(e164 string) (string, error) {
	if kind, costly := phonenum.Costly(e164); costly && !k.phone.costly[kind] {
		return "", errCostlyPhone
	}
	return e164, nil
}

var errCostlyPhone = newError(CodeInvalidPhone, "This kind of phone number (premium rate, shared cost, satellite or a short code) cannot have an account: enter a mobile number.")

var errInvalidPhone = newError(CodeInvalidPhone, "Enter a phone number in international format, such as +15555555555.")

// checkPassword applies the password policy to a new password: a minimum
// and a maximum length in characters, not one of the 100,000 commonest
// breached passwords in any case (see [breached.Common]), and not one
// Config.PasswordChecker knows from a breach. It never trims the password
// or demands character classes; case is folded only to compare with the
// list.
func (k *Kit) checkPassword(ctx context.Context, pw string) error {
	if !utf8.ValidString(pw) {
		return newError(CodeBadRequest, "The password is not valid UTF-8.")
	}
	if strings.ContainsRune(pw, utf8.RuneError) {
		// What decodes to U+FFFD (a lone surrogate escape such as \ud800,
		// say) is text that was lost: two different passwords would be
		// stored as one.
		return newError(CodeBadRequest, "The password holds U+FFFD, which stands for a character that was lost; choose another.")
	}
	n := utf8.RuneCountInString(pw)
	if n < k.minPassword {
		e := newError(CodePasswordTooShort, "The password is too short.")
		e.Details = map[string]any{"minLength": k.minPassword}
		return e
	}
	if n > maxPasswordRunes {
		e := newError(CodePasswordTooLong, "The password is too long.")
		e.Details = map[string]any{"maxLength": maxPasswordRunes}
		return e
	}
	if breached.Common(pw) {
		return newError(CodePasswordTooCommon, "This password is too common; choose another.")
	}
	if k.passwordChecker != nil {
		breached, err := k.passwordChecker.Breached(ctx, pw)
		switch {
		case err != nil:
			// Fail open: the checker's outage must not stop every sign-up
			// and reset; the length and common-list rules still hold.
			k.log.WarnContext(ctx, "authkit: the password checker failed; the password was judged without it", "err", err)
		case breached:
			return newError(CodePasswordTooCommon, "This password appears in known data breaches; choose another.")
		}
	}
	return nil
}

// fitsPassword is the cheap check for a password offered to sign in: one
// longer than any we accept is wrong without hashing it.
func fitsPassword(pw string) bool {
	return len(pw) <= 4*maxPasswordRunes
}

// setName checks a name a user typed: one line of at most maxNameLen
// characters, without control, format or line-separator characters. A name
// is echoed in mail and on screens: a newline, a NUL (which PostgreSQL
// refuses to store) or a right-to-left override has no business there.
// unprintable reports whether r has no place in one line of text:
// controls (NUL, newlines), format characters (bidi overrides, zero-width
// ones) and line and paragraph separators.
func unprintable(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

func setName(u *User, name string) error {
	if utf8.RuneCountInString(name) > maxNameLen || strings.ContainsFunc(name, unprintable) {
		return newError(CodeInvalidName, fmt.Sprintf("A name is one line of at most %d characters.", maxNameLen))
	}
	u.Name = name
	return nil
}

// validProfileKey accepts field names an app would use: letters, digits and
// underscores, not starting with an underscore or a digit.
func validProfileKey(key string) bool {
	if key == "" || len(key) > maxProfileKeyLen {
		return false
	}
	for i, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9', r == '_':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// strictObject refuses a body that is not one JSON object keyed exactly by
// the json names of v's fields, each at most once. encoding/json alone
// would take "null" for an object, match "Password" to the field
// "password", and keep the last of two "password" keys: the kit would
// then act on another value than the one a proxy, a firewall or a log
// read. Malformed JSON is left to the decoder, which says what is wrong.
func strictObject(body []byte, v any) error {
	notObject := newError(CodeBadRequest, "The request body must hold one JSON object.")
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return nil
	} else if tok != json.Delim('{') {
		return notObject
	}
	t := reflect.TypeOf(v).Elem()
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		switch {
		case !fields[key]:
			e := newError(CodeBadRequest, "The field "+key+" is not known.")
			e.Details = map[string]any{"field": key}
			return e
		case seen[key]:
			e := newError(CodeBadRequest, "The field "+key+" is given twice.")
			e.Details = map[string]any{"field": key}
			return e
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// Package phonenum reads phone numbers as users type them and gives the one
// form the kit stores: E.164. [Costly] says which of those numbers cost
// money to text: premium rate, shared cost, satellite, short codes.
package phonenum

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxLen bounds a phone number as typed: E.164 has at most 15 digits, and
// this leaves room for spaces, dashes and brackets.
const maxLen = 32

// Normalize checks a phone number and returns its stored form, E.164
// ("+15555555555"), or false. It takes international format only: a '+',
// the country code and the number, with spaces, dashes, dots or brackets
// between digits if the user likes. The number must be possible for its
// country (of a length the country uses); whether it is assigned is not
// checked, so the seeds' own +15555555555 is accepted. Letters (vanity
// numbers), extensions and national formats are refused.
func Normalize(s string) (string, bool) {
	return normalize(s, phonenumbers.Parse)
}

// normalize is Normalize with the parser given: a test gives one that
// panics.
func normalize(s string, parse func(string, string) (*phonenumbers.PhoneNumber, error)) (e164 string, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || len(s) > maxLen || s[0] != '+' {
		return "", false
	}
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
		case r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return "", false
		}
	}
	defer func() {
		// The parser is a large port of libphonenumber: whatever it trips
		// on is a bad number, never a crashed request.
		if recover() != nil {
			e164, ok = "", false
		}
	}()
	e164, ok = possibleE164(s, parse)
	if !ok {
		return "", false
	}
	// The stored form must read back as itself, or a number would be
	// stored under one key and looked up under another ("+49 00 …" loses
	// a trunk 0 on every reading).
	if again, _ := possibleE164(e164, parse); again != e164 {
		return "", false
	}
	return e164, true
}

// possibleE164 parses an international number and returns it as E.164 if
// it is a possible number without an extension, of at most the 15 digits
// E.164 allows (the metadata knows a few longer ones, which no SMS
// provider takes).
func possibleE164(s string, parse func(string, string) (*phonenumbers.PhoneNumber, error)) (string, bool) {
	n, err := parse(s, "ZZ")
	if err != nil || n.GetExtension() != "" || !phonenumbers.IsPossibleNumber(n) {
		return "", false
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	return e164, len(e164) <= 16
}

// Query reads a phone number from a URL query. The Altogic client encodes
// it, but a caller that does not sends '+' as a space: a leading space is
// read back as '+'.
func Query(raw string) (string, bool) {
	if t := strings.TrimLeft(raw, " "); len(t) < len(raw) && !strings.HasPrefix(t, "+") {
		raw = "+" + t
	}
	return Normalize(raw)
}

// Region is the region of an E.164 number (an ISO 3166-1 alpha-2 code):
// the one whose numbering plan holds it, else the main region of its
// country code; "" if it does not parse.
func Region(e164 string) string {
	n, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil {
		return ""
	}
	if r := phonenumbers.GetRegionCodeForNumber(n); r != "" {
		return r
	}
	return phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode()))
}

// KnownRegion reports whether code is a region code the metadata knows,
// such as "US" or "GB".
func KnownRegion(code string) bool {
	return phonenumbers.GetSupportedRegions()[code]
}

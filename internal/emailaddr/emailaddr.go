// Package emailaddr gives the one form the kit stores and compares for an
// email address, so that one person has one identifier.
//
// # Why one place
//
// Two strings a reader takes for the same address must not become two
// accounts: "rené" typed composed or decomposed, "ｆｕｌｌ" in fullwidth
// letters, "münchen.de" and its A-label "xn--mnchen-3ya.de", "ann" with an
// invisible zero-width space. [Policy.Canonical] maps each such family to
// one form, or refuses it; nothing else in the kit decides what an address
// is.
//
// # What it does
//
// In order, each step on the result of the one before:
//
//  1. Trim white space around the address, and refuse invalid UTF-8 and any
//     code point that is invisible, ambiguous or not yet a character:
//     controls, format characters (bidi controls, zero-width space and
//     joiners, soft hyphen, byte order mark), other default-ignorable code
//     points and variation selectors, private use, unassigned, and white
//     space anywhere.
//  2. Fold width, so fullwidth "ｆｕｌｌ" is "full".
//  3. Split at the last '@'. Map the domain with IDNA (UTS #46, lookup,
//     non-transitional) and keep its Unicode form: "MÜNCHEN.de" and
//     "xn--mnchen-3ya.de" are both "münchen.de". A label holds letters,
//     marks, digits and hyphens.
//  4. Lower-case an ASCII local part; an internationalised one, when the
//     [Policy] allows it, goes through a PRECIS identifier profile that
//     folds case and normalises to NFC.
//  5. Refuse a local part or domain label that mixes scripts (UTS #39,
//     highly restrictive), a result that NFKC and case folding would turn
//     into another ("ß" in a domain), and one that fails the syntax the kit
//     has always required:
//     at most 254 bytes, a local part of at most 64, one bare address
//     net/mail reads back unchanged, a domain with a dot.
//
// The result is a fixed point: Canonical of a canonical form is itself.
//
// # Limits
//
// A name written wholly in another script that looks like a Latin one
// ("аррӏе.com", all Cyrillic) is one script and passes: refusing it takes
// the UTS #39 confusables table, which neither the standard library nor
// x/text carries. Scripts are told by the Script property, not
// Script_Extensions, so a Common or Inherited character counts as any
// script. Cherokee is refused, for want of a correct case folding in
// x/text.
package emailaddr

import (
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

const (
	// maxLen is the longest canonical address, in bytes: the limit RFC 5321
	// leaves for a path (256) less its angle brackets.
	maxLen = 254
	// maxLocalLen is the longest canonical local part, in bytes (RFC 5321).
	maxLocalLen = 64
	// maxInputLen bounds the input before any work is done, so one request
	// cannot ask for much. No address a person types comes near it, nor any
	// input that fits maxLen once canonical: folding and composing shrink
	// text a few times at most (a mathematical bold letter, four bytes,
	// becomes a one-byte letter).
	maxInputLen = 16 * maxLen
)

// Policy says which addresses are accepted. The zero value is the strict
// default: ASCII local parts.
type Policy struct {
	// UnicodeLocal accepts internationalised local parts (RFC 6531), such
	// as "rené@example.com"; default false: the local part is ASCII
	// (RFC 5321). Many mail servers still refuse a non-ASCII local part,
	// and an ASCII one holds no letter of another script that looks Latin.
	UnicodeLocal bool
}

// Canonical returns the one form the kit stores and compares for the
// address s, or ok=false if s is not an acceptable address. It takes a bare
// address ("Ann@Example.com"), never a display name or a list. Two inputs
// with the same canonical form are the same address; a canonical form is
// its own canonical form. See the package documentation for the steps.
func (p Policy) Canonical(s string) (string, bool) {
	c, ok := p.canonical(s)
	if !ok {
		return "", false
	}
	// Each step is meant to be idempotent, and the tests and fuzz targets
	// hold them to it. Checking the result once more keeps the promise
	// whatever a later Unicode version or library does to a step: an
	// address whose stored form would not come back as itself is refused
	// rather than stored.
	if again, ok := p.canonical(c); !ok || again != c {
		return "", false
	}
	return c, true
}

func (p Policy) canonical(s string) (string, bool) {
	// Rule 1: only the white space around the address goes; what is inside
	// is checked, and white space inside is refused below.
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxInputLen || !utf8.ValidString(s) || !allAllowed(s) {
		return "", false
	}
	// Rule 2: a fullwidth letter is the letter; fold before anything looks
	// at the characters, so '＠' and '．' count as '@' and '.'.
	s = width.Fold.String(s)

	// Rule 3: the domain is what follows the last '@': a quoted local part
	// may hold one, a domain never does.
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", false
	}
	local, ok := p.canonicalLocal(s[:at])
	if !ok {
		return "", false
	}
	domain, ok := canonicalDomain(s[at+1:])
	if !ok {
		return "", false
	}
	c := local + "@" + domain
	// Checked again on the result: the mappings must not have brought in
	// what the input could not hold.
	if !allAllowed(c) || !foldStable(c) {
		return "", false
	}
	if !validSyntax(c, len(local)) {
		return "", false
	}
	return c, true
}

// allAllowed reports whether s holds only code points a reader can see and
// tell apart: rule 1.
func allAllowed(s string) bool {
	for _, r := range s {
		if !allowed(r) {
			return false
		}
	}
	return true
}

// allowed reports whether r may appear anywhere in an address. Refused:
//
//   - white space, even the kinds IDNA or PRECIS would map to a space: an
//     address holds none;
//   - controls (Cc) and format characters (Cf: bidi overrides, zero-width
//     space and joiners, soft hyphen, byte order mark): invisible, so two
//     addresses would look alike and a reversed one would read backwards;
//   - the other default-ignorable code points and variation selectors
//     (Hangul fillers, U+034F, U+17B4, Mongolian free variation
//     selectors): renderers draw nothing for them;
//   - private use, surrogates and unassigned code points: they mean nothing
//     yet, and what a later Unicode makes of them could change the form.
func allowed(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return r > ' ' && r != 0x7f
	case unicode.IsSpace(r),
		unicode.In(r, unicode.C, unicode.Z),
		unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector):
		return false
	}
	// Assigned: in a general category other than C (Cn has no table).
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}

// lookup is the UTS #46 profile for looking a domain up: mapped (case,
// width, compatibility, NFC); validated (hyphen places, joiner contexts,
// only letters, digits and hyphens among ASCII); the Bidi rule; DNS
// lengths; non-transitional, so "ß" stays a letter of its own as it does
// in DNS rather than becoming "ss".
var lookup = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.VerifyDNSLength(true),
	idna.StrictDomainName(true),
	idna.Transitional(false),
)

// canonicalDomain returns the Unicode form of the domain d: rule 3. The
// domain must convert to ASCII (A-labels) under [lookup]; its canonical
// form is those A-labels back in Unicode, lower case and NFC. Unicode
// rather than A-labels because addresses stored before kept the Unicode
// form they were typed in, and those must still compare equal. The domain
// needs two labels, none empty; a label holds letters, marks, digits and
// hyphens only, of one script.
func canonicalDomain(d string) (string, bool) {
	a, err := lookup.ToASCII(d)
	if err != nil {
		return "", false
	}
	u, err := lookup.ToUnicode(a)
	if err != nil {
		return "", false
	}
	labels := strings.Split(u, ".")
	if len(labels) < 2 {
		return "", false
	}
	for _, l := range labels {
		if l == "" || !wordLabel(l) || !singleScript(l) {
			return "", false
		}
	}
	return u, true
}

// wordLabel reports whether the label l holds no symbol and no punctuation
// but the hyphen. IDNA2008 (RFC 5892) disallows them; UTS #46 lets a
// lookup through with some ("💩.la"), and an identifier has no use for a
// pictograph or a look-alike dash.
func wordLabel(l string) bool {
	for _, r := range l {
		if r != '-' && unicode.In(r, unicode.S, unicode.P) {
			return false
		}
	}
	return true
}

// enforceLocal is the PRECIS profile for an internationalised local part:
// the IdentifierClass (letters and digits of any script, printable ASCII;
// no symbols, compatibility characters or spaces) with width folding,
// case folding, NFC and the Bidi rule. Case folding rather than
// lower-casing so that "ΟΔΟΣ" and "οδος" meet: final sigma folds to σ.
var enforceLocal = precis.NewIdentifier(
	precis.FoldWidth,
	precis.FoldCase(),
	precis.Norm(norm.NFC),
	precis.BidiRule,
	precis.DisallowEmpty,
)

// admitLocal is [enforceLocal] without the case folding. An internationalised
// local part must pass it as typed: case folding maps a few compatibility
// characters the IdentifierClass refuses ("ſ" to "s", U+0345 to "ι") into
// it, and those are look-alikes to refuse, not letters to fold.
var admitLocal = precis.NewIdentifier(
	precis.FoldWidth,
	precis.Norm(norm.NFC),
	precis.BidiRule,
	precis.DisallowEmpty,
)

// canonicalLocal returns the canonical local part: rule 4. By default it
// must be ASCII and is lower-cased; ASCII has one case mapping and no
// look-alike letters. With [Policy.UnicodeLocal] it must pass
// [admitLocal] as typed and is then the [enforceLocal] form, and its
// letters must come from one script.
func (p Policy) canonicalLocal(l string) (string, bool) {
	if !p.UnicodeLocal {
		for i := 0; i < len(l); i++ {
			if l[i] >= utf8.RuneSelf {
				return "", false
			}
		}
		return strings.ToLower(l), true
	}
	if _, err := admitLocal.String(l); err != nil {
		return "", false
	}
	c, err := enforceLocal.String(l)
	if err != nil || !singleScript(c) {
		return "", false
	}
	return c, true
}

// foldStable reports whether s is the NFC form of its NFKC case fold, the
// key a reader compares by when case and compatibility variants do not
// count. Two canonical forms that differ then fold differently. It refuses
// the letters IDNA keeps in a domain that folding changes, "ß" and final
// "ς" ("straße.de" and "strasse.de" are two domains that read as one), and
// Cherokee, which x/text folds back and forth between its two cases
// (golang.org/issue/46101), so no form of it is stable.
func foldStable(s string) bool {
	return norm.NFC.String(cases.Fold().String(norm.NFKC.String(s))) == s
}

// validSyntax applies the checks the kit has always made to the canonical
// address c, whose local part is localLen bytes: rule 5. net/mail must read
// c back as itself with no display name, which refuses quoted local parts,
// comments, domain literals and stray dots.
func validSyntax(c string, localLen int) bool {
	if len(c) > maxLen || localLen > maxLocalLen {
		return false
	}
	a, err := mail.ParseAddress(c)
	if err != nil || a.Name != "" || a.Address != c {
		return false
	}
	domain := c[localLen+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// singleScript reports whether the letters of s come from one script, or
// from one of the sets UTS #39 allows together at its "highly restrictive"
// level: Latin with Han, Hiragana and Katakana (Japanese), with Han and
// Bopomofo (Chinese), or with Han and Hangul (Korean). Common and Inherited
// code points (digits, punctuation, combining marks) belong to any script.
// A Cyrillic "а" among Latin letters is refused: it is the usual way to
// forge an address that reads as another.
func singleScript(s string) bool {
	var seen []*unicode.RangeTable
	for _, r := range s {
		t := scriptOf(r)
		if t == unicode.Common || t == unicode.Inherited || slices.Contains(seen, t) {
			continue
		}
		seen = append(seen, t)
	}
	if len(seen) <= 1 {
		return true
	}
	for _, set := range [][]*unicode.RangeTable{
		{unicode.Latin, unicode.Han, unicode.Hiragana, unicode.Katakana},
		{unicode.Latin, unicode.Han, unicode.Bopomofo},
		{unicode.Latin, unicode.Han, unicode.Hangul},
	} {
		if subset(seen, set) {
			return true
		}
	}
	return false
}

// commonScripts are the scripts scriptOf tries before all the others.
var commonScripts = []*unicode.RangeTable{
	unicode.Latin, unicode.Common, unicode.Inherited, unicode.Han,
	unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Cyrillic,
	unicode.Greek, unicode.Arabic, unicode.Hebrew, unicode.Devanagari,
	unicode.Thai, unicode.Bopomofo,
}

// scriptOf returns the table of r's script (the Script property; Go has no
// Script_Extensions), or nil for an unassigned code point.
func scriptOf(r rune) *unicode.RangeTable {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return unicode.Latin
		}
		return unicode.Common
	}
	for _, t := range commonScripts {
		if unicode.Is(t, r) {
			return t
		}
	}
	for _, t := range unicode.Scripts {
		if unicode.Is(t, r) {
			return t
		}
	}
	return nil
}

func subset(ts, of []*unicode.RangeTable) bool {
	for _, t := range ts {
		if !slices.Contains(of, t) {
			return false
		}
	}
	return true
}

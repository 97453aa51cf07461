// Package useragent parses a User-Agent header into browser, device and OS
// families and versions, the way ua-parser does: the common browsers' headers
// by scanning them, the others with the regexes embedded in
// github.com/ua-parser/uap-go, which give the same answers.
//
// Every field of a [Result] is set: an unknown family is "Other" and an
// unknown version part is "0", so that a session record always reads like
//
//	"device": {"family": "Other", "major": "0", "minor": "0", "patch": "0"}
package useragent

import "github.com/ua-parser/uap-go/uaparser"

// Version is a family and its version, each part a non-empty string.
type Version struct {
	Family, Major, Minor, Patch string
}

// Result is a parsed User-Agent header.
type Result struct {
	Browser, Device, OS Version
}

const (
	// maxLen bounds the header parsed, and so the regex work and the size of
	// the parser's cache keys. Real User-Agent strings are far shorter.
	maxLen = 512
	// cacheSize is the number of distinct headers whose results the parser
	// keeps (per browser, OS and device). A service sees few distinct ones.
	cacheSize = 1024

	unknownFamily  = "Other"
	unknownVersion = "0"
)

// Parse parses a User-Agent header. Only its first 512 bytes are looked at.
// It never returns an empty string in any field: an unrecognised family is
// "Other" and a missing version part "0". Device versions are always "0".
// Parse is safe for concurrent use.
//
// The headers of the common browsers are read by a fast path that gives
// what uap-go gives without running its regexes (fastpath.go); the others
// by uap-go, whose regexes are compiled at the first such header and let
// go after a quiet period without one (loader.go).
func Parse(header string) Result {
	if len(header) > maxLen {
		header = header[:maxLen]
	}
	if r, ok := parseFast(header); ok {
		return r
	}
	return regexes.parse(header)
}

// regexes is uap-go's parser, loaded while headers need it.
var regexes = newLoader(quietPeriod, newUAP)

// newUAP compiles uap-go's regexes: about 200 ms, and 11.7 MiB live.
func newUAP() (*uaparser.Parser, error) {
	return uaparser.New(uaparser.WithCacheSize(cacheSize))
}

// parse parses header with uap-go.
func (l *loader) parse(header string) Result {
	p, err := l.get()
	if err != nil { // cannot happen with the embedded regexes
		unknown := version("", "", "", "")
		return Result{Browser: unknown, Device: unknown, OS: unknown}
	}
	// The three lookups are called in turn rather than through p.Parse,
	// which starts a goroutine for each. Without sorting the parser takes
	// no write lock, so they are safe for concurrent use.
	ua := p.ParseUserAgent(header)
	os := p.ParseOs(header)
	dev := p.ParseDevice(header)
	return Result{
		Browser: version(ua.Family, ua.Major, ua.Minor, ua.Patch),
		Device:  version(dev.Family, "", "", ""),
		OS:      version(os.Family, os.Major, os.Minor, os.Patch),
	}
}

// version fills empty parts with "Other" and "0".
func version(family, major, minor, patch string) Version {
	return Version{
		Family: orDefault(family, unknownFamily),
		Major:  orDefault(major, unknownVersion),
		Minor:  orDefault(minor, unknownVersion),
		Patch:  orDefault(patch, unknownVersion),
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

package useragent

// The fast path: the headers of the browsers most sign-ins come from,
// read by scanning their fixed shapes instead of running uap-go's
// regexes, so that a service whose clients send only such headers never
// loads the regexes (11.7 MiB live once compiled, which every garbage
// collection must mark).
//
// A header is claimed only when the whole of it has one of the shapes
// below, token for token; anything else (an extra token, an app's
// suffix, a two-part Chrome version, a device model of another shape)
// goes to uap-go. What the fast path answers for a claimed header is
// what uap-go answers for it: fastpath_test.go checks it over a corpus
// of real headers and FuzzFastPath over mutations of them.
//
//	Mozilla/5.0 (<platform>) <engine and browser tokens>
//
// Platforms: Windows 7 to 11; Mac OS X (Intel); Linux, Ubuntu and
// Fedora under X11; Chrome OS; Android with the reduced model "K", a
// Samsung "SM-" model or a Google Pixel; iPhone and iPad. Browsers:
// Chrome and the Chromium browsers that add one token (Edge, Opera,
// Samsung Internet, Android WebView), Firefox, and Safari with the iOS
// browsers built on it (Chrome, Firefox and Edge for iOS, and an app's
// WKWebView).

import "strings"

// maxDigits bounds a version part the fast path reads: longer numbers
// are left to uap-go.
const maxDigits = 9

// cursor reads a header left to right. Once a read fails, ok is false
// and every later read fails too, so a parse checks ok once at its end.
type cursor struct {
	s  string
	ok bool
}

// lit consumes p.
func (c *cursor) lit(p string) {
	if c.ok && strings.HasPrefix(c.s, p) {
		c.s = c.s[len(p):]
		return
	}
	c.ok = false
}

// try consumes p if the rest starts with it, and reports whether it did.
func (c *cursor) try(p string) bool {
	if c.ok && strings.HasPrefix(c.s, p) {
		c.s = c.s[len(p):]
		return true
	}
	return false
}

// num consumes a number of 1 to maxDigits ASCII digits.
func (c *cursor) num() string {
	if !c.ok {
		return ""
	}
	n := 0
	for n < len(c.s) && n <= maxDigits && '0' <= c.s[n] && c.s[n] <= '9' {
		n++
	}
	if n == 0 || n > maxDigits {
		c.ok = false
		return ""
	}
	v := c.s[:n]
	c.s = c.s[n:]
	return v
}

// version consumes min to max numbers separated by sep, and returns the
// first three ("" for those missing). More parts than max fail.
func (c *cursor) version(sep byte, min, max int) (v [3]string) {
	for i := range max {
		if i > 0 {
			if len(c.s) < 2 || c.s[0] != sep || c.s[1] < '0' || c.s[1] > '9' {
				if i < min {
					c.ok = false
				}
				return v
			}
			c.s = c.s[1:]
		}
		n := c.num()
		if i < len(v) {
			v[i] = n
		}
	}
	if len(c.s) > 0 && c.s[0] == sep {
		c.ok = false // a part beyond max
	}
	return v
}

// word consumes one or more ASCII letters and digits.
func (c *cursor) word() string {
	n := 0
	for n < len(c.s) && isAlnum(c.s[n]) {
		n++
	}
	if n == 0 {
		c.ok = false
	}
	w := c.s[:n]
	c.s = c.s[n:]
	return w
}

// end fails unless the whole header was read.
func (c *cursor) end() {
	if c.s != "" {
		c.ok = false
	}
}

func isAlnum(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// platformKind is the kind of device a platform comment names, which
// decides the browser tokens that may follow it.
type platformKind uint8

const (
	desktop        platformKind = iota + 1
	android                     // Linux; Android N; model
	androidWebView              // Linux; Android N; model Build/ID; wv
	androidFirefox              // Android N; Mobile|Tablet; rv:N
	ios                         // iPhone or iPad
)

// platform is what the comment after "Mozilla/5.0" says.
type platform struct {
	kind   platformKind
	os     Version
	device string
	// rv is Firefox's "rv:" version, "" without one.
	rv string
}

// parseFast returns the Result uap-go gives for header, and true, when
// header has one of the shapes the fast path knows; otherwise false.
func parseFast(header string) (Result, bool) {
	c := cursor{s: header, ok: true}
	c.lit("Mozilla/5.0 (")
	end := strings.IndexByte(c.s, ')')
	if !c.ok || end < 0 {
		return Result{}, false
	}
	p, ok := parsePlatform(c.s[:end])
	if !ok || p.kind == androidFirefox && p.rv == "" {
		return Result{}, false
	}
	c.s = c.s[end+1:]
	c.lit(" ")
	var browser Version
	switch {
	case p.rv != "":
		browser = parseFirefox(&c, p)
	case p.kind == ios:
		browser = parseIOS(&c)
	case strings.HasPrefix(c.s, "AppleWebKit/605.1.15 ") && p.device == "Mac":
		browser = parseSafari(&c)
	default:
		browser = parseChromium(&c, p)
	}
	c.end()
	if !c.ok {
		return Result{}, false
	}
	return Result{Browser: browser, Device: version(p.device, "", "", ""), OS: p.os}, true
}

// parsePlatform reads the comment after "Mozilla/5.0", without its
// parentheses.
func parsePlatform(s string) (platform, bool) {
	c := cursor{s: s, ok: true}
	var p platform
	switch {
	case c.try("Windows NT "):
		// ua-parser names Windows by release, not by NT version.
		var os Version
		switch {
		case c.try("10.0"):
			os = version("Windows", "10", "", "")
		case c.try("6.1"):
			os = version("Windows", "7", "", "")
		case c.try("6.2"):
			os = version("Windows", "8", "", "")
		case c.try("6.3"):
			os = version("Windows", "8", "1", "")
		default:
			return platform{}, false
		}
		// Win64; x64 for 64-bit browsers, WOW64 for 32-bit ones on a
		// 64-bit Windows, nothing for 32-bit Windows.
		if !c.try("; Win64; x64") {
			c.try("; WOW64")
		}
		p = platform{kind: desktop, os: os}
	case c.try("Macintosh; Intel Mac OS X "):
		// 10_15_7 from Chrome and Safari, 10.15 from Firefox.
		sep := byte('_')
		if i := strings.IndexAny(c.s, "._"); i >= 0 {
			sep = c.s[i]
		}
		v := c.version(sep, 2, 3)
		p = platform{kind: desktop, os: version("Mac OS X", v[0], v[1], v[2]), device: "Mac"}
	case c.try("X11; "):
		family := "Linux"
		switch {
		case c.try("Ubuntu; "):
			family = "Ubuntu"
		case c.try("Fedora; "):
			family = "Fedora"
		case c.try("CrOS "):
			if !c.try("x86_64 ") {
				c.lit("aarch64 ")
			}
			v := c.version('.', 3, 3)
			return platform{kind: desktop, os: version("Chrome OS", v[0], v[1], v[2])}, c.ok && c.s == ""
		}
		c.lit("Linux ")
		if !c.try("x86_64") && !c.try("aarch64") {
			c.lit("i686")
		}
		p = platform{kind: desktop, os: version(family, "", "", "")}
	case c.try("Linux; Android "):
		v := c.version('.', 1, 3)
		c.lit("; ")
		p = platform{kind: android, os: version("Android", v[0], v[1], v[2])}
		p.device = androidModel(&c)
		if c.try(" Build/") {
			buildID(&c)
			if c.try("; wv") {
				p.kind = androidWebView
			}
		}
	case c.try("Android "):
		v := c.version('.', 1, 3)
		p = platform{kind: androidFirefox, os: version("Android", v[0], v[1], v[2])}
		switch {
		case c.try("; Mobile"):
			p.device = "Generic Smartphone"
		case c.try("; Tablet"):
			p.device = "Generic Tablet"
		default:
			c.ok = false
		}
	case c.try("iPhone; CPU iPhone OS "):
		v := c.version('_', 2, 3)
		c.lit(" like Mac OS X")
		p = platform{kind: ios, os: version("iOS", v[0], v[1], v[2]), device: "iPhone"}
	case c.try("iPad; CPU OS "):
		v := c.version('_', 2, 3)
		c.lit(" like Mac OS X")
		p = platform{kind: ios, os: version("iOS", v[0], v[1], v[2]), device: "iPad"}
	default:
		return platform{}, false
	}
	if (p.kind == desktop || p.kind == androidFirefox) && c.try("; rv:") {
		rest := c.s
		c.version('.', 2, 2)
		p.rv = rest[:len(rest)-len(c.s)]
	}
	c.end()
	return p, c.ok
}

// androidModel reads the device model of an Android platform and returns
// the device family uap-go gives it: "K" (Chrome's reduced User-Agent),
// a Samsung "SM-" model of four to six capital letters and digits, with
// or without a "SAMSUNG " before it, or a Google Pixel.
func androidModel(c *cursor) string {
	switch {
	case c.try("K"):
		if len(c.s) > 0 && c.s[0] != ' ' {
			c.ok = false
		}
		return "K"
	case strings.HasPrefix(c.s, "Pixel "):
		// Pixel 8, Pixel 8 Pro, Pixel 7a: words of letters and digits.
		rest := c.s
		c.s = c.s[len("Pixel"):]
		for strings.HasPrefix(c.s, " ") && !strings.HasPrefix(c.s, " Build/") {
			c.s = c.s[1:]
			c.word()
		}
		model := rest[:len(rest)-len(c.s)]
		if len(model) > 40 {
			c.ok = false
		}
		return model
	}
	brand := c.try("SAMSUNG ")
	model := c.s
	c.lit("SM-")
	m := c.word()
	model = model[:len(model)-len(c.s)]
	if len(m) < 4 || len(m) > 6 || strings.ToUpper(m) != m {
		c.ok = false
	}
	// uap-go names the four-letter models of Samsung's tablets (SM-X710)
	// without the brand unless the header gives it or a build ID.
	if len(m) == 4 && !brand && !strings.HasPrefix(c.s, " Build/") {
		return model
	}
	return "Samsung " + model
}

// buildID consumes an Android build ID of the shape of UP1A.231005.007
// (the shape of every release since Android 9): two capital letters, two
// capital letters or digits, a date and a number. Looser IDs are left to
// uap-go, whose regexes look for browser names in such places ("U3"
// followed by a version is UC Browser).
func buildID(c *cursor) {
	const n = len("UP1A.231005.007")
	if len(c.s) < n {
		c.ok = false
		return
	}
	id := c.s[:n]
	for i := range n {
		b := id[i]
		switch {
		case i < 2:
			c.ok = c.ok && 'A' <= b && b <= 'Z'
		case i < 4:
			c.ok = c.ok && ('A' <= b && b <= 'Z' || '0' <= b && b <= '9')
		case i == 4 || i == 11:
			c.ok = c.ok && b == '.'
		default:
			c.ok = c.ok && '0' <= b && b <= '9'
		}
	}
	c.s = c.s[n:]
}

// parseFirefox reads Firefox's tokens after a platform with an rv:.
func parseFirefox(c *cursor, p platform) Version {
	family := "Firefox"
	if p.kind == androidFirefox {
		family = "Firefox Mobile"
		c.lit("Gecko/" + p.rv + " ")
	} else {
		c.lit("Gecko/20100101 ")
	}
	c.lit("Firefox/")
	v := c.version('.', 2, 2)
	return version(family, v[0], v[1], v[2])
}

// parseSafari reads Safari's tokens on a Mac.
func parseSafari(c *cursor) Version {
	c.lit("AppleWebKit/605.1.15 (KHTML, like Gecko) Version/")
	v := c.version('.', 2, 3)
	c.lit(" Safari/605.1.15")
	return version("Safari", v[0], v[1], v[2])
}

// parseIOS reads the tokens of Safari and of the browsers and apps built
// on it on an iPhone or iPad.
func parseIOS(c *cursor) Version {
	c.lit("AppleWebKit/605.1.15 (KHTML, like Gecko) ")
	var b Version
	switch {
	case c.try("Version/"):
		v := c.version('.', 2, 3)
		if c.try(" EdgiOS/") {
			e := c.version('.', 4, 4)
			c.lit(" Mobile/15E148 Safari/605.1.15")
			return version("Edge Mobile", e[0], e[1], e[2])
		}
		c.lit(" Mobile/15E148 Safari/604.1")
		b = version("Mobile Safari", v[0], v[1], v[2])
	case c.try("CriOS/"):
		v := c.version('.', 4, 4)
		c.lit(" Mobile/15E148 Safari/604.1")
		b = version("Chrome Mobile iOS", v[0], v[1], v[2])
	case c.try("FxiOS/"):
		v := c.version('.', 2, 2)
		c.lit(" Mobile/15E148 Safari/605.1.15")
		b = version("Firefox iOS", v[0], v[1], v[2])
	default:
		// An app's WKWebView: the engine's tokens and nothing after.
		c.lit("Mobile/15E148")
		b = version("Mobile Safari UI/WKWebView", "", "", "")
	}
	return b
}

// parseChromium reads the tokens of Chrome and of the Chromium browsers
// that add one token to them.
func parseChromium(c *cursor, p platform) Version {
	c.lit("AppleWebKit/537.36 (KHTML, like Gecko) ")
	mobile := p.kind == android || p.kind == androidWebView
	if p.kind == androidWebView {
		c.lit("Version/4.0 ")
	}
	var samsung [3]string
	if p.kind == android && c.try("SamsungBrowser/") {
		samsung = c.version('.', 2, 2)
		c.lit(" ")
	}
	c.lit("Chrome/")
	v := c.version('.', 4, 4)
	c.lit(" ")
	hasMobile := mobile && c.try("Mobile ")
	c.lit("Safari/537.36")
	switch {
	case p.kind == androidWebView:
		if !hasMobile {
			c.ok = false
		}
		return version("Chrome Mobile WebView", v[0], v[1], v[2])
	case samsung[0] != "":
		if !hasMobile {
			c.ok = false
		}
		return version("Samsung Internet", samsung[0], samsung[1], "")
	case c.try(" Edg/"):
		e := c.version('.', 4, 4)
		if mobile {
			c.ok = false
		}
		return version("Edge", e[0], e[1], e[2])
	case c.try(" EdgA/"):
		e := c.version('.', 4, 4)
		if !hasMobile {
			c.ok = false
		}
		return version("Edge Mobile", e[0], e[1], e[2])
	case c.try(" OPR/"):
		o := c.version('.', 4, 4)
		if mobile && !hasMobile {
			c.ok = false
		}
		if hasMobile {
			return version("Opera Mobile", o[0], o[1], o[2])
		}
		return version("Opera", o[0], o[1], o[2])
	case hasMobile:
		return version("Chrome Mobile", v[0], v[1], v[2])
	}
	return version("Chrome", v[0], v[1], v[2])
}

package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/appenv"
)

// page is the app's one page: vanilla JavaScript against the kit's REST
// API, keeping the session as the Altogic client does.
//
//go:embed page.html
var page []byte

// pageSettings are what the page must know of the app's configuration.
type pageSettings struct {
	providers map[string]authkit.OAuthProvider // a sign-in button each
	phone     bool                             // phone accounts are on: the phone forms show
	outbox    bool                             // -dev: the page links to /dev/outbox
	mfa       bool                             // second factors are on: the authenticator card shows
	rpID      string                           // passkeys are on, bound to this domain: the page offers them there
}

// pageWith is the page as the app is configured: with a sign-in button
// per enabled provider, each what signInWithProvider does (a plain link to
// /_auth/{provider}), and flags on its body that show the phone forms and
// the outbox link.
func pageWith(s pageSettings) []byte {
	out := page
	flag := func(name string, on bool) {
		if on {
			out = bytes.Replace(out, []byte(`data-`+name+`="off"`), []byte(`data-`+name+`="on"`), 1)
		}
	}
	flag("phone", s.phone)
	flag("outbox", s.outbox)
	flag("mfa", s.mfa)
	if s.rpID != "" {
		out = bytes.Replace(out, []byte(`data-rpid=""`), []byte(`data-rpid="`+html.EscapeString(s.rpID)+`"`), 1)
	}
	var buttons strings.Builder
	for _, p := range appenv.Providers {
		if _, ok := s.providers[p.Name]; ok {
			fmt.Fprintf(&buttons, `<a class="button" href="/_auth/%s">Sign in with %s</a>`+"\n", p.Name, html.EscapeString(p.Label))
		}
	}
	if buttons.Len() == 0 {
		return out
	}
	out = bytes.Replace(out, []byte(`<div id="providers" hidden>`), []byte(`<div id="providers">`), 1)
	return bytes.Replace(out, []byte("<!-- provider buttons -->"), []byte(buttons.String()), 1)
}

func servePage(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// The page's address may hold an access_token: never send it onward.
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(body)
}

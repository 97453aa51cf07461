package authkit

// CSRF tokens, for the browsers that say neither where a request comes
// from (Origin) nor whether it is same-origin (Sec-Fetch-Site): every
// browser of this decade sends one of them on a POST, and the kit checks
// those first (sameSite). A token is the HMAC of a random value the
// browser keeps in a cookie of its own: another site can neither read
// the cookie nor make the HMAC.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"net/http"
)

const (
	// csrfCookieName is the cookie that holds a browser's CSRF value
	// (with the __Host- prefix when PublicURL is https).
	csrfCookieName = "authkit_csrf"
	// CSRFHeader is the header a script sends a CSRF token in.
	CSRFHeader = "X-CSRF-Token"
	// CSRFField is the form field an HTML form sends a CSRF token in.
	CSRFField = "csrf_token"
	// maxCSRF bounds what is read of a CSRF cookie or token.
	maxCSRF = 128
)

// csrfCookie is the name of the CSRF cookie.
func (k *Kit) csrfCookie() string {
	if k.limits.secureCookies {
		return "__Host-" + csrfCookieName
	}
	return csrfCookieName
}

// CSRFToken returns the CSRF token of r's browser, for a form to send in
// its csrf_token field (CSRFField) or a script in the X-CSRF-Token header
// (CSRFHeader). It sets the browser's CSRF cookie on w when r had none, so
// call it before the answer's body is written. Put it in every form that
// posts to the kit or to a route behind RequireSession: a browser that
// sends neither Origin nor Sec-Fetch-Site (none of this decade does on a
// POST) is refused such a post without it.
//
// It takes w, where a token bound to nothing of the browser's would be a
// token any site could fetch for itself and post from the victim's
// browser: before sign-in, the browser has nothing else to bind it to.
func (k *Kit) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	value := ""
	if c, err := r.Cookie(k.csrfCookie()); err == nil && len(c.Value) >= 32 && len(c.Value) <= maxCSRF {
		value = c.Value
	}
	if value == "" {
		v, err := k.newToken()
		if err != nil {
			return "" // no randomness: the post is refused, as it should be
		}
		value = v
		http.SetCookie(w, &http.Cookie{
			Name: k.csrfCookie(), Value: value, Path: "/", HttpOnly: true,
			Secure: k.limits.secureCookies, SameSite: http.SameSiteLaxMode,
		})
	}
	return csrfMAC(k.subkeys("csrf")[0], value)
}

func csrfMAC(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfOK reports whether r presents its browser's CSRF token: in the
// X-CSRF-Token header, or in the csrf_token field of a form body (which it
// parses; the form's handler reads r.PostForm).
func (k *Kit) csrfOK(r *http.Request) bool {
	c, err := r.Cookie(k.csrfCookie())
	if err != nil || len(c.Value) < 32 || len(c.Value) > maxCSRF {
		return false
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" && isForm(r) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
		}
		if err := r.ParseForm(); err == nil {
			got = r.PostForm.Get(CSRFField)
		}
	}
	if got == "" || len(got) > maxCSRF {
		return false
	}
	for _, key := range k.subkeys("csrf") {
		if hmac.Equal([]byte(got), []byte(csrfMAC(key, c.Value))) {
			return true
		}
	}
	return false
}

// isForm reports whether r's body is an HTML form.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

var smtpVars = []string{
	"AUTHKIT_SMTP_HOST", "AUTHKIT_SMTP_PORT", "AUTHKIT_SMTP_USERNAME",
	"AUTHKIT_SMTP_PASSWORD", "AUTHKIT_SMTP_FROM", "AUTHKIT_SMTP_TLS",
}

func clearSMTPEnv(t *testing.T) {
	t.Helper()
	for _, v := range smtpVars {
		t.Setenv(v, "")
	}
}

func devOptions() options {
	return options{addr: "127.0.0.1:8080", db: "memory", dev: true}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestDevAppServesPageAndOutbox(t *testing.T) {
	clearSMTPEnv(t)
	h, kit, err := newApp(devOptions(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kit.Close(t.Context()) })

	rec := get(t, h, http.MethodGet, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	if rp := rec.Header().Get("Referrer-Policy"); rp != "no-referrer" {
		t.Errorf("GET /: Referrer-Policy %q, want no-referrer (the URL may hold an access_token)", rp)
	}
	body := rec.Body.String()
	for _, want := range []string{"<html", "/_api/rest/v1/auth/", "grant?key=", "access_token", "signup-email", "reset-pwd"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page refers to an external asset; the machine may have no internet access")
	}

	if rec := get(t, h, http.MethodGet, "/nope"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
		t.Errorf("GET /nope: %d %q, want the kit's JSON 404", rec.Code, rec.Body)
	}

	rec = get(t, h, http.MethodGet, "/dev/outbox")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Fatalf("GET /dev/outbox: %d %q, want 200 []", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET /dev/outbox: Content-Type %q", ct)
	}
	rec = get(t, h, http.MethodPost, "/dev/outbox")
	var e struct{ Errors []struct{ Code string } }
	if rec.Code != http.StatusMethodNotAllowed || json.Unmarshal(rec.Body.Bytes(), &e) != nil || len(e.Errors) != 1 || e.Errors[0].Code != "method_not_allowed" {
		t.Errorf("POST /dev/outbox: %d %q, want 405 with a JSON error", rec.Code, rec.Body)
	}
}

func TestOutboxOnlyWithDev(t *testing.T) {
	t.Setenv("AUTHKIT_SMTP_HOST", "smtp.example.com")
	t.Setenv("AUTHKIT_SMTP_FROM", "app@example.com")
	o := devOptions()
	o.dev = false
	h, kit, err := newApp(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kit.Close(t.Context()) })
	if rec := get(t, h, http.MethodGet, "/dev/outbox"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /dev/outbox without -dev: status %d, want 404", rec.Code)
	}
	if rec := get(t, h, http.MethodGet, "/"); rec.Code != http.StatusOK {
		t.Errorf("GET /: status %d", rec.Code)
	}
}

func TestUnknownDB(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres://localhost/x", ""} {
		o := devOptions()
		o.db = db
		_, _, err := newApp(o, io.Discard)
		if err == nil {
			t.Errorf("-db %q: no error", db)
			continue
		}
		if !strings.Contains(err.Error(), "sqlstore") {
			t.Errorf("-db %q: error %q does not say where other databases come from", db, err)
		}
	}
}

func TestNoDevNeedsSMTP(t *testing.T) {
	clearSMTPEnv(t)
	o := devOptions()
	o.dev = false
	_, _, err := newApp(o, io.Discard)
	if err == nil {
		t.Fatal("no -dev and no SMTP configured: no error")
	}
	for _, want := range []string{"-dev", "AUTHKIT_SMTP_HOST", "AUTHKIT_SMTP_PORT", "AUTHKIT_SMTP_FROM", "AUTHKIT_SMTP_TLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestSMTPEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"defaults", map[string]string{"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com"}, true},
		{"everything", map[string]string{
			"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_PORT": "465",
			"AUTHKIT_SMTP_USERNAME": "user", "AUTHKIT_SMTP_PASSWORD": "secret",
			"AUTHKIT_SMTP_FROM": "app@example.com", "AUTHKIT_SMTP_TLS": "tls",
		}, true},
		{"bad port", map[string]string{"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com", "AUTHKIT_SMTP_PORT": "smtp"}, false},
		{"bad tls", map[string]string{"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com", "AUTHKIT_SMTP_TLS": "ssl3"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearSMTPEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			o := devOptions()
			o.dev = false
			h, kit, err := newApp(o, io.Discard)
			if !tc.ok {
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.Contains(err.Error(), "AUTHKIT_SMTP_HOST") {
					t.Errorf("error %q does not say how to configure SMTP", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { kit.Close(t.Context()) })
			if h == nil {
				t.Fatal("nil handler")
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":8080":          "http://localhost:8080",
		"0.0.0.0:9000":   "http://localhost:9000",
		"[::1]:8080":     "http://[::1]:8080",
		"example.test":   "http://example.test",
	} {
		if got := baseURL(addr); got != want {
			t.Errorf("baseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/authkit/authkit/internal/appenv"
	"github.com/authkit/authkit/sms"
)

func TestSMSEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want any    // the sender's type; nil for none
		err  string // a part of the error; "" for none
	}{
		{"none", map[string]string{}, nil, ""},
		{"twilio", map[string]string{"AUTHKIT_SMS_PROVIDER": "twilio", "AUTHKIT_TWILIO_ACCOUNT_SID": "AC123", "AUTHKIT_TWILIO_AUTH_TOKEN": "tok", "AUTHKIT_TWILIO_FROM": "+15017122661"}, &sms.Twilio{}, ""},
		{"twilio messaging service", map[string]string{"AUTHKIT_SMS_PROVIDER": "Twilio", "AUTHKIT_TWILIO_ACCOUNT_SID": "AC123", "AUTHKIT_TWILIO_AUTH_TOKEN": "tok", "AUTHKIT_TWILIO_MESSAGING_SERVICE_SID": "MG123"}, &sms.Twilio{}, ""},
		{"twilio API key", map[string]string{"AUTHKIT_SMS_PROVIDER": "twilio", "AUTHKIT_TWILIO_ACCOUNT_SID": "AC123", "AUTHKIT_TWILIO_API_KEY_SID": "SK123", "AUTHKIT_TWILIO_API_KEY_SECRET": "secret", "AUTHKIT_TWILIO_FROM": "+15017122661"}, &sms.Twilio{}, ""},
		{"bird", map[string]string{"AUTHKIT_SMS_PROVIDER": "bird", "AUTHKIT_BIRD_ACCESS_KEY": "key", "AUTHKIT_BIRD_WORKSPACE_ID": "2d7a9f8e-5b3c-4e1a-9f0d-6c8b7a5e4d3c", "AUTHKIT_BIRD_CHANNEL_ID": "8e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"}, &sms.Bird{}, ""},
		{"bird without a channel", map[string]string{"AUTHKIT_SMS_PROVIDER": "bird", "AUTHKIT_BIRD_ACCESS_KEY": "key", "AUTHKIT_BIRD_WORKSPACE_ID": "2d7a9f8e-5b3c-4e1a-9f0d-6c8b7a5e4d3c"}, nil, "ChannelID"},
		{"twilio API key without its secret", map[string]string{"AUTHKIT_SMS_PROVIDER": "twilio", "AUTHKIT_TWILIO_ACCOUNT_SID": "AC123", "AUTHKIT_TWILIO_API_KEY_SID": "SK123", "AUTHKIT_TWILIO_FROM": "+15017122661"}, nil, "APIKeySecret"},
		{"messagebird", map[string]string{"AUTHKIT_SMS_PROVIDER": "messagebird", "AUTHKIT_MESSAGEBIRD_ACCESS_KEY": "key", "AUTHKIT_MESSAGEBIRD_ORIGINATOR": "authkit"}, &sms.MessageBird{}, ""},
		{"vonage", map[string]string{"AUTHKIT_SMS_PROVIDER": "vonage", "AUTHKIT_VONAGE_API_KEY": "key", "AUTHKIT_VONAGE_API_SECRET": "secret", "AUTHKIT_VONAGE_FROM": "authkit"}, &sms.Vonage{}, ""},
		{"unknown provider", map[string]string{"AUTHKIT_SMS_PROVIDER": "pigeon"}, nil, "pigeon"},
		{"twilio without a token", map[string]string{"AUTHKIT_SMS_PROVIDER": "twilio", "AUTHKIT_TWILIO_ACCOUNT_SID": "AC123", "AUTHKIT_TWILIO_FROM": "+15017122661"}, nil, "AuthToken"},
		{"messagebird without a key", map[string]string{"AUTHKIT_SMS_PROVIDER": "messagebird", "AUTHKIT_MESSAGEBIRD_ORIGINATOR": "authkit"}, nil, "AccessKey"},
		{"vonage without a sender", map[string]string{"AUTHKIT_SMS_PROVIDER": "vonage", "AUTHKIT_VONAGE_API_KEY": "key", "AUTHKIT_VONAGE_API_SECRET": "secret"}, nil, "From"},
		{"plain http API", map[string]string{"AUTHKIT_SMS_PROVIDER": "messagebird", "AUTHKIT_MESSAGEBIRD_ACCESS_KEY": "key", "AUTHKIT_MESSAGEBIRD_ORIGINATOR": "authkit", "AUTHKIT_SMS_BASE_URL": "http://sms.example.com"}, nil, "BaseURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := appenv.SMSFromEnv(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil {
					t.Fatalf("no error; sender %#v", s)
				}
				for _, want := range []string{tc.err, "-dev", "AUTHKIT_SMS_PROVIDER", "AUTHKIT_TWILIO_ACCOUNT_SID", "AUTHKIT_TWILIO_API_KEY_SID", "AUTHKIT_MESSAGEBIRD_ACCESS_KEY", "AUTHKIT_BIRD_ACCESS_KEY", "AUTHKIT_VONAGE_API_KEY"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch tc.want.(type) {
			case nil:
				if s != nil {
					t.Errorf("sender %#v, want none", s)
				}
			case *sms.Twilio:
				_, ok := s.(*sms.Twilio)
				if !ok {
					t.Errorf("sender %#v, want a Twilio", s)
				}
			case *sms.MessageBird:
				if _, ok := s.(*sms.MessageBird); !ok {
					t.Errorf("sender %#v, want a MessageBird", s)
				}
			case *sms.Bird:
				if _, ok := s.(*sms.Bird); !ok {
					t.Errorf("sender %#v, want a Bird", s)
				}
			case *sms.Vonage:
				if _, ok := s.(*sms.Vonage); !ok {
					t.Errorf("sender %#v, want a Vonage", s)
				}
			}
		})
	}
}

// Without -dev, the app texts through the provider of its environment:
// here a fake Twilio API, whose text carries the code that verifyPhone
// takes.
func TestNoDevTextsThroughTheProvider(t *testing.T) {
	var mu sync.Mutex
	var texts []url.Values
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" {
			http.Error(w, `{"code":20404,"message":"not found"}`, http.StatusNotFound)
			return
		}
		r.ParseForm()
		mu.Lock()
		texts = append(texts, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid":"SM123","status":"queued"}`))
	}))
	t.Cleanup(fake.Close)
	clearSMTPEnv(t)
	for k, v := range map[string]string{
		"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com",
		"AUTHKIT_SMS_PROVIDER": "twilio", "AUTHKIT_SMS_BASE_URL": fake.URL,
		"AUTHKIT_TWILIO_ACCOUNT_SID": "AC123", "AUTHKIT_TWILIO_AUTH_TOKEN": "tok", "AUTHKIT_TWILIO_FROM": "+15017122661",
	} {
		t.Setenv(k, v)
	}
	o := devOptions()
	o.dev = false
	h, kit, err := newApp(o, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kit.Close(t.Context()) })

	post := func(path, body string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := post("/_api/rest/v1/auth/signup-phone", `{"phone":"+15555555555","password":"correct horse battery"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("signup-phone: %d %s", rec.Code, rec.Body)
	}
	mu.Lock()
	if len(texts) != 1 || texts[0].Get("To") != "+15555555555" || texts[0].Get("From") != "+15017122661" {
		t.Fatalf("the fake Twilio got %v, want one text to +15555555555", texts)
	}
	code := regexp.MustCompile(`\d{6}`).FindString(texts[0].Get("Body"))
	mu.Unlock()
	rec = post("/_api/rest/v1/auth/verify-phone?code="+code+"&phone=%2B15555555555", "")
	var a struct{ Session struct{ Token string } }
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &a) != nil || a.Session.Token == "" {
		t.Fatalf("verify-phone: %d %s", rec.Code, rec.Body)
	}
}

func TestNoDevWithoutSMSHasNoPhoneAccounts(t *testing.T) {
	clearSMTPEnv(t)
	t.Setenv("AUTHKIT_SMTP_HOST", "smtp.example.com")
	t.Setenv("AUTHKIT_SMTP_FROM", "app@example.com")
	t.Setenv("AUTHKIT_SMS_PROVIDER", "")
	o := devOptions()
	o.dev = false
	var log bytes.Buffer
	h, kit, err := newApp(o, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kit.Close(t.Context()) })
	if !strings.Contains(log.String(), "AUTHKIT_SMS_PROVIDER") {
		t.Errorf("the console does not say how to turn phone accounts on: %q", log.String())
	}
	r := httptest.NewRequest(http.MethodPost, "/_api/rest/v1/auth/send-code?phone=%2B15555555555", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"feature_disabled"`) {
		t.Errorf("send-code without an SMS provider: %d %s, want 403 feature_disabled", rec.Code, rec.Body)
	}
}

func TestDevAppHasPhoneAccounts(t *testing.T) {
	clearSMTPEnv(t)
	h, kit, err := newApp(devOptions(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kit.Close(t.Context()) })
	r := httptest.NewRequest(http.MethodPost, "/_api/rest/v1/auth/signup-phone", strings.NewReader(`{"phone":"+15555555555","password":"correct horse battery"}`))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("signup-phone: %d %s", rec.Code, rec.Body)
	}
	rec = get(t, h, http.MethodGet, "/dev/outbox")
	if !strings.Contains(rec.Body.String(), `"kind":"sms"`) || !strings.Contains(rec.Body.String(), `"to":"+15555555555"`) {
		t.Errorf("GET /dev/outbox does not list the text: %s", rec.Body)
	}
}

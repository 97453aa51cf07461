package sms_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sms"
	"github.com/stretchr/testify/require"
)

func TestBadMessageSendsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    authkit.SMS
		want string
	}{
		{"no plus", authkit.SMS{To: "447700900123", Body: body}, "E.164"},
		{"spaces", authkit.SMS{To: "+44 7700 900123", Body: body}, "E.164"},
		{"leading zero", authkit.SMS{To: "+0447700900123", Body: body}, "E.164"},
		{"too short", authkit.SMS{To: "+123456", Body: body}, "E.164"},
		{"too long", authkit.SMS{To: "+1234567890123456", Body: body}, "E.164"},
		{"letters", authkit.SMS{To: "+44770090012a", Body: body}, "E.164"},
		{"empty", authkit.SMS{Body: body}, "E.164"},
		{"empty body", authkit.SMS{To: to, Body: " \n"}, "body is empty"},
	} {
		for _, p := range providers {
			t.Run(tc.name+"/"+p.name, func(t *testing.T) {
				f := newFake(t, answer(500, "text/plain", "should not be called"))
				err := p.sender(f.URL, 0).SendSMS(t.Context(), tc.m)
				require.ErrorContains(t, err, tc.want)
				require.ErrorContains(t, err, "sms: "+p.name)
				if tc.m.To != "" {
					require.NotContains(t, err.Error(), tc.m.To)
				}
				require.Zero(t, f.count())
			})
		}
	}
}

func TestCheck(t *testing.T) {
	for _, s := range []interface{ Check() error }{
		&sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "+15017122661"},
		&sms.Twilio{AccountSID: sid, AuthToken: authToken, MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"},
		&sms.Twilio{AccountSID: sid, APIKeySID: keySID, APIKeySecret: keySecret, From: "+15017122661"},
		&sms.MessageBird{AccessKey: accessKey, Originator: "App"},
		&sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: channel},
		&sms.Bird{AccessKey: accessKey, WorkspaceID: strings.ToUpper(workspace), ChannelID: channel},
		&sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App"},
		&sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "+447700900000"},
	} {
		require.NoError(t, s.Check(), "%T", s)
	}

	for _, tc := range []struct {
		name   string
		sender interface{ Check() error }
		want   string
	}{
		{"twilio no SID", &sms.Twilio{AuthToken: authToken, From: "+15017122661"}, "Twilio.AccountSID is required"},
		{"twilio SID not AC", &sms.Twilio{AccountSID: "SK0123", AuthToken: authToken, From: "+15017122661"}, "Twilio.AccountSID must"},
		{"twilio SID with a path", &sms.Twilio{AccountSID: "AC12/../x", AuthToken: authToken, From: "+15017122661"}, "Twilio.AccountSID must"},
		{"twilio no token", &sms.Twilio{AccountSID: sid, From: "+15017122661"}, "Twilio.AuthToken is required"},
		{"twilio token and key", &sms.Twilio{AccountSID: sid, AuthToken: authToken, APIKeySID: keySID, APIKeySecret: keySecret, From: "App"}, "either Twilio.AuthToken or Twilio.APIKeySID"},
		{"twilio token and key secret", &sms.Twilio{AccountSID: sid, AuthToken: authToken, APIKeySecret: keySecret, From: "App"}, "not both"},
		{"twilio key without secret", &sms.Twilio{AccountSID: sid, APIKeySID: keySID, From: "App"}, "go together"},
		{"twilio secret without key", &sms.Twilio{AccountSID: sid, APIKeySecret: keySecret, From: "App"}, "go together"},
		{"twilio key SID not SK", &sms.Twilio{AccountSID: sid, APIKeySID: sid, APIKeySecret: keySecret, From: "App"}, "Twilio.APIKeySID must"},
		{"twilio key SID with a path", &sms.Twilio{AccountSID: sid, APIKeySID: "SK1/../x", APIKeySecret: keySecret, From: "App"}, "Twilio.APIKeySID must"},
		{"twilio no sender", &sms.Twilio{AccountSID: sid, AuthToken: authToken}, "exactly one of Twilio.From and Twilio.MessagingServiceSID"},
		{"twilio two senders", &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "+15017122661", MessagingServiceSID: "MG1"}, "exactly one"},
		{"twilio bad service", &sms.Twilio{AccountSID: sid, AuthToken: authToken, MessagingServiceSID: "AC1"}, "Twilio.MessagingServiceSID must"},
		{"twilio long sender ID", &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "MyLongAppName"}, "at most 11"},
		{"twilio negative timeout", &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "App", Timeout: -time.Second}, "Twilio.Timeout"},
		{"messagebird no key", &sms.MessageBird{Originator: "App"}, "MessageBird.AccessKey is required"},
		{"messagebird key with newline", &sms.MessageBird{AccessKey: "k\nX-Evil: 1", Originator: "App"}, "MessageBird.AccessKey holds white space"},
		{"messagebird no originator", &sms.MessageBird{AccessKey: accessKey}, "MessageBird.Originator is required"},
		{"messagebird originator control", &sms.MessageBird{AccessKey: accessKey, Originator: "A\x00pp"}, "control character"},
		{"bird no key", &sms.Bird{WorkspaceID: workspace, ChannelID: channel}, "Bird.AccessKey is required"},
		{"bird key with newline", &sms.Bird{AccessKey: "k\nX-Evil: 1", WorkspaceID: workspace, ChannelID: channel}, "Bird.AccessKey holds white space"},
		{"bird no workspace", &sms.Bird{AccessKey: accessKey, ChannelID: channel}, "Bird.WorkspaceID is required"},
		{"bird workspace not a UUID", &sms.Bird{AccessKey: accessKey, WorkspaceID: "ws_123", ChannelID: channel}, "Bird.WorkspaceID must be the workspace's UUID"},
		{"bird workspace with a path", &sms.Bird{AccessKey: accessKey, WorkspaceID: "2d7a9f8e-5b3c-4e1a-9f0d-6c8b7a5e/../x", ChannelID: channel}, "Bird.WorkspaceID must"},
		{"bird no channel", &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace}, "Bird.ChannelID is required"},
		{"bird channel not a UUID", &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: "8e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4g"}, "Bird.ChannelID must"},
		{"bird http", &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: channel, BaseURL: "http://api.bird.com"}, "Bird.BaseURL must be https"},
		{"vonage no key", &sms.Vonage{APISecret: apiSecret, From: "App"}, "Vonage.APIKey is required"},
		{"vonage no secret", &sms.Vonage{APIKey: apiKey, From: "App"}, "Vonage.APISecret is required"},
		{"vonage no from", &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: " "}, "Vonage.From is required"},
		{"vonage http", &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: "http://rest.nexmo.com"}, "Vonage.BaseURL must be https"},
		{"vonage relative", &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: "rest.nexmo.com"}, "Vonage.BaseURL must be an absolute URL"},
		{"vonage user info", &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: "https://u:p@rest.nexmo.com"}, "no user info"},
		{"vonage query", &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: "https://rest.nexmo.com?x=1"}, "no user info, query"},
		{"vonage ftp", &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: "ftp://127.0.0.1"}, "must be https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.sender.Check(), tc.want)
			if s, ok := tc.sender.(authkit.SMSSender); ok {
				require.ErrorContains(t, s.SendSMS(t.Context(), msg), tc.want, "SendSMS checks too")
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct {
		baseURL string
		ok      bool
	}{
		{"https://api.example.com", true},
		{"https://proxy.example.com/twilio/", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://api.twilio.com", false},
	} {
		t.Run(tc.baseURL, func(t *testing.T) {
			err := (&sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "App", BaseURL: tc.baseURL}).Check()
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}

	// A path prefix is kept, a trailing slash is not doubled.
	f := newFake(t, answer(201, "application/json", `{"sid":"SM1","status":"queued"}`))
	s := &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "App", BaseURL: f.URL + "/proxy/"}
	require.NoError(t, s.SendSMS(t.Context(), msg))
	require.Equal(t, "/proxy/2010-04-01/Accounts/"+sid+"/Messages.json", f.only(t).path)
}

// Package appenv configures the examples' OAuth providers and SMS sender
// from the environment, as a deployment sets them.
package appenv

import (
	"fmt"
	"strings"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sms"
)

// smsHelp says how to configure texts; it ends every SMS configuration error.
const smsHelp = "run with -dev to print texts on the console, or choose a provider with AUTHKIT_SMS_PROVIDER: " +
	"twilio (AUTHKIT_TWILIO_ACCOUNT_SID, AUTHKIT_TWILIO_AUTH_TOKEN or AUTHKIT_TWILIO_API_KEY_SID and AUTHKIT_TWILIO_API_KEY_SECRET, " +
	"and AUTHKIT_TWILIO_FROM or AUTHKIT_TWILIO_MESSAGING_SERVICE_SID), " +
	"messagebird (AUTHKIT_MESSAGEBIRD_ACCESS_KEY, AUTHKIT_MESSAGEBIRD_ORIGINATOR), " +
	"bird (AUTHKIT_BIRD_ACCESS_KEY, AUTHKIT_BIRD_WORKSPACE_ID, AUTHKIT_BIRD_CHANNEL_ID) or " +
	"vonage (AUTHKIT_VONAGE_API_KEY, AUTHKIT_VONAGE_API_SECRET, AUTHKIT_VONAGE_FROM); " +
	"AUTHKIT_SMS_BASE_URL points any of them at another API base URL"

// SMSFromEnv builds the SMS sender that AUTHKIT_SMS_PROVIDER names, from
// that provider's AUTHKIT_<PROVIDER>_* variables, and checks it. With no
// provider named it returns nil: the app then runs without phone accounts.
func SMSFromEnv(getenv func(string) string) (authkit.SMSSender, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	base := env("AUTHKIT_SMS_BASE_URL")
	var sender interface {
		authkit.SMSSender
		Check() error
	}
	switch p := strings.ToLower(env("AUTHKIT_SMS_PROVIDER")); p {
	case "":
		return nil, nil
	case "twilio":
		sender = &sms.Twilio{
			AccountSID:          env("AUTHKIT_TWILIO_ACCOUNT_SID"),
			AuthToken:           env("AUTHKIT_TWILIO_AUTH_TOKEN"),
			APIKeySID:           env("AUTHKIT_TWILIO_API_KEY_SID"),
			APIKeySecret:        env("AUTHKIT_TWILIO_API_KEY_SECRET"),
			From:                env("AUTHKIT_TWILIO_FROM"),
			MessagingServiceSID: env("AUTHKIT_TWILIO_MESSAGING_SERVICE_SID"),
			BaseURL:             base,
		}
	case "messagebird":
		sender = &sms.MessageBird{
			AccessKey:  env("AUTHKIT_MESSAGEBIRD_ACCESS_KEY"),
			Originator: env("AUTHKIT_MESSAGEBIRD_ORIGINATOR"),
			BaseURL:    base,
		}
	case "bird":
		sender = &sms.Bird{
			AccessKey:   env("AUTHKIT_BIRD_ACCESS_KEY"),
			WorkspaceID: env("AUTHKIT_BIRD_WORKSPACE_ID"),
			ChannelID:   env("AUTHKIT_BIRD_CHANNEL_ID"),
			BaseURL:     base,
		}
	case "vonage":
		sender = &sms.Vonage{
			APIKey:    env("AUTHKIT_VONAGE_API_KEY"),
			APISecret: env("AUTHKIT_VONAGE_API_SECRET"),
			From:      env("AUTHKIT_VONAGE_FROM"),
			BaseURL:   base,
		}
	default:
		return nil, fmt.Errorf("AUTHKIT_SMS_PROVIDER=%q is not twilio, messagebird, bird or vonage; %s", p, smsHelp)
	}
	if err := sender.Check(); err != nil {
		return nil, fmt.Errorf("%w; %s", err, smsHelp)
	}
	return sender, nil
}

package authkit

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"io"
	"text/template"
	"time"
)

// Email is one message to one address.
type Email struct {
	To      string
	Subject string
	Text    string // plain-text body
	HTML    string // optional HTML body
}

// Mailer delivers email. The smtpmail package has one for SMTP; the outbox
// package records and prints messages for tests and development.
type Mailer interface {
	// SendEmail delivers m or returns why not. It must honour ctx.
	SendEmail(ctx context.Context, m Email) error
}

// SMS is one text message to one phone number (E.164).
type SMS struct {
	To   string
	Body string
}

// SMSSender delivers text messages. The sms package has Twilio, MessageBird
// and Vonage senders.
type SMSSender interface {
	// SendSMS delivers m or returns why not. It must honour ctx.
	SendSMS(ctx context.Context, m SMS) error
}

// MessageData is what a message template is executed with.
type MessageData struct {
	AppName  string
	Link     string // the link to follow (empty for notices)
	Code     string // in a text message: the code to type (empty for notices)
	Email    string // the address the message goes to (the old one, in EmailChanged)
	NewEmail string // for email changes: the new address
	Phone    string // in a text message: the number it goes to (E.164)
	NewPhone string // for phone changes: the new number (E.164)
	// Name is the user's name, if known, and only in a message to an
	// address or number that has shown it is the account's: never in a
	// confirmation or a change of address, which go to whatever address
	// someone typed, so that no text an attacker wrote reaches a stranger.
	Name      string
	ExpiresIn time.Duration // how long the link or code works
	// In the notices of Config.Notices: the browser and system the
	// request came from, as "Chrome 99 on Mac OS X 10.15" (only letters,
	// digits, dots and spaces); its IP address ("" if unknown); and when it
	// happened, in UTC.
	Device string
	IP     string
	At     time.Time
	// In the FactorChanged notice: the factor, as "an authenticator app"
	// or "a passkey" ("every second factor" for Kit.ResetFactors), and
	// whether it was added (else removed).
	Factor string
	Added  bool
}

// EmailTemplate is a message executed with [MessageData]: Subject and Text
// in text/template syntax, the optional HTML body with html/template, which
// escapes what the user typed (their name) for you.
type EmailTemplate struct {
	Subject string
	Text    string
	HTML    string
}

// EmailTemplates are the messages the kit sends. A zero field keeps the
// default shown in [DefaultEmailTemplates].
type EmailTemplates struct {
	ConfirmEmail  EmailTemplate // after sign-up and on resend
	MagicLink     EmailTemplate
	ResetPassword EmailTemplate
	ChangeEmail   EmailTemplate // to the new address: confirm it
	EmailChanged  EmailTemplate // to the old address: it was replaced
	// AddressInUse goes to the owner of an address that another account
	// asked to move to (changeEmail): nothing changed, and the asker is
	// answered as if the address were free.
	AddressInUse EmailTemplate
	// PasswordChanged tells the owner that the password was changed or
	// reset (Config.Notices.PasswordChanged).
	PasswordChanged EmailTemplate
	// NewDevice tells the owner of a sign-in from a browser the account
	// had not seen (Config.Notices.NewDevice).
	NewDevice EmailTemplate
	// FactorChanged tells the owner that a second factor was added or
	// removed (Config.Notices.FactorChanged).
	FactorChanged EmailTemplate
}

// DefaultEmailTemplates returns the messages used where
// Config.EmailTemplates leaves a field zero.
func DefaultEmailTemplates() EmailTemplates {
	return EmailTemplates{
		ConfirmEmail: EmailTemplate{
			Subject: "Confirm your email for {{.AppName}}",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"Confirm your email address by opening this link:\n\n{{.Link}}\n\n" +
				"The link works for {{duration .ExpiresIn}}. If you did not sign up for {{.AppName}}, ignore this message.\n",
		},
		MagicLink: EmailTemplate{
			Subject: "Your sign-in link for {{.AppName}}",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"Open this link to sign in to {{.AppName}}:\n\n{{.Link}}\n\n" +
				"The link works once, for {{duration .ExpiresIn}}. If you did not ask for it, ignore this message.\n",
		},
		ResetPassword: EmailTemplate{
			Subject: "Reset your {{.AppName}} password",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"Open this link to choose a new password:\n\n{{.Link}}\n\n" +
				"The link works once, for {{duration .ExpiresIn}}. If you did not ask for it, ignore this message: your password stays as it is.\n",
		},
		ChangeEmail: EmailTemplate{
			Subject: "Confirm your new email for {{.AppName}}",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"Open this link to make {{.NewEmail}} the email of your {{.AppName}} account:\n\n{{.Link}}\n\n" +
				"The link works for {{duration .ExpiresIn}}. If you did not ask for this, ignore this message.\n",
		},
		EmailChanged: EmailTemplate{
			Subject: "Your {{.AppName}} email was changed",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"The email of your {{.AppName}} account is now {{.NewEmail}}, and no longer {{.Email}}.\n\n" +
				"If you did not make this change, reset your password and contact us at once.\n",
		},
		AddressInUse: EmailTemplate{
			Subject: "Someone asked to use your email at {{.AppName}}",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"Someone signed in to another {{.AppName}} account asked to make {{.Email}} its email. " +
				"It is the email of your account already, so nothing changed.\n\n" +
				"If that was you, sign in with this address instead. If not, you need not do anything.\n",
		},
		PasswordChanged: EmailTemplate{
			Subject: "Your {{.AppName}} password was changed",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"The password of your {{.AppName}} account was changed on {{.At.Format \"2 January 2006 at 15:04 MST\"}}, " +
				"from {{.Device}}{{with .IP}} at IP address {{.}}{{end}}. Sessions on other devices were signed out.\n\n" +
				"If you did not do this, reset your password at once and contact us.\n",
		},
		NewDevice: EmailTemplate{
			Subject: "New sign-in to your {{.AppName}} account",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"Your {{.AppName}} account was signed in to on {{.At.Format \"2 January 2006 at 15:04 MST\"}} " +
				"from a browser it had not seen before: {{.Device}}{{with .IP}}, at IP address {{.}}{{end}}.\n\n" +
				"If that was you, you need not do anything. If not, reset your password at once: that signs every session out.\n",
		},
		FactorChanged: EmailTemplate{
			Subject: "{{if .Added}}A second factor was added to{{else}}A second factor was removed from{{end}} your {{.AppName}} account",
			Text: "Hello{{with .Name}} {{.}}{{end}},\n\n" +
				"The second factors of your {{.AppName}} account changed on {{.At.Format \"2 January 2006 at 15:04 MST\"}}, " +
				"from {{.Device}}{{with .IP}} at IP address {{.}}{{end}}: {{.Factor}} was {{if .Added}}added{{else}}removed{{end}}.\n\n" +
				"If you did not do this, someone who could sign in as you did: contact us at once, and change your password.\n",
		},
	}
}

// configureEmails checks and applies EmailTemplates.
func (k *Kit) configureEmails(cfg Config) error {
	tt, in, def := &k.templates, cfg.EmailTemplates, DefaultEmailTemplates()
	for _, t := range []struct {
		name    string
		in, def EmailTemplate
		out     *emailTemplate
	}{
		{"ConfirmEmail", in.ConfirmEmail, def.ConfirmEmail, &tt.confirm},
		{"MagicLink", in.MagicLink, def.MagicLink, &tt.magic},
		{"ResetPassword", in.ResetPassword, def.ResetPassword, &tt.reset},
		{"ChangeEmail", in.ChangeEmail, def.ChangeEmail, &tt.changeEmail},
		{"EmailChanged", in.EmailChanged, def.EmailChanged, &tt.emailChanged},
		{"AddressInUse", in.AddressInUse, def.AddressInUse, &tt.addressInUse},
	} {
		var err error
		if *t.out, err = parseEmailTemplate(t.name, t.in, t.def); err != nil {
			return err
		}
	}
	return nil
}

// emailTemplate is an EmailTemplate parsed once, at New.
type emailTemplate struct {
	subject, text, html executor
}

type executor interface {
	Execute(w io.Writer, data any) error
}

var templateFuncs = template.FuncMap{"duration": humanDuration}

func parseEmailTemplate(name string, t, def EmailTemplate) (emailTemplate, error) {
	if t.Subject == "" {
		t.Subject = def.Subject
	}
	if t.Text == "" {
		t.Text = def.Text
	}
	if t.HTML == "" {
		t.HTML = def.HTML
	}
	var et emailTemplate
	var err error
	parse := func(part, src string) executor {
		if err != nil || src == "" {
			return nil
		}
		var tt executor
		if part == "HTML" {
			tt, err = htmltemplate.New(name + "." + part).Funcs(htmltemplate.FuncMap(templateFuncs)).Option("missingkey=error").Parse(src)
		} else {
			tt, err = template.New(name + "." + part).Funcs(templateFuncs).Option("missingkey=error").Parse(src)
		}
		if err != nil {
			err = fmt.Errorf("authkit: EmailTemplates.%s.%s: %w", name, part, err)
			return nil
		}
		return tt
	}
	et.subject = parse("Subject", t.Subject)
	et.text = parse("Text", t.Text)
	et.html = parse("HTML", t.HTML)
	if err != nil {
		return emailTemplate{}, err
	}
	// Execute once with sample data so a template that cannot run fails at New.
	if _, err := et.render("sample@example.com", MessageData{AppName: "App", Link: "https://example.com/x", ExpiresIn: time.Hour}); err != nil {
		return emailTemplate{}, fmt.Errorf("authkit: EmailTemplates.%s: %w", name, err)
	}
	return et, nil
}

func (et emailTemplate) render(to string, d MessageData) (Email, error) {
	m := Email{To: to}
	for _, p := range []struct {
		t   executor
		out *string
	}{{et.subject, &m.Subject}, {et.text, &m.Text}, {et.html, &m.HTML}} {
		if p.t == nil {
			continue
		}
		var b bytes.Buffer
		if err := p.t.Execute(&b, d); err != nil {
			return Email{}, err
		}
		*p.out = b.String()
	}
	return m, nil
}

// humanDuration writes d the way a message would: "24 hours", "15 minutes".
func humanDuration(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int64(d/time.Minute), "minute")
	default:
		return unit(int64(d/time.Second), "second")
	}
}

// SMSTemplates are the text messages the kit sends, each a text/template
// executed with [MessageData]. A zero field keeps the default shown in
// [DefaultSMSTemplates]. The defaults are plain ASCII and fit one SMS (160
// GSM-7 characters) with an AppName of up to 30 such characters; a longer
// message, or one with characters outside GSM-7, costs more segments.
type SMSTemplates struct {
	VerifyPhone  string // the code that confirms a number: after sign-up, on resend, and for a change of number
	SignInCode   string // the code of sendSignInCode
	ResetCode    string // the code of sendResetPwdCode
	PhoneChanged string // to the old number: it was replaced
	// NumberInUse goes to the owner of a number that another account asked
	// to move to (changePhone): nothing changed, and the asker is answered
	// as if the number were free.
	NumberInUse string
	// PasswordChanged tells the owner that the password was changed or
	// reset (Config.Notices.PasswordChanged).
	PasswordChanged string
	// NewDevice tells the owner of a sign-in from a browser the account
	// had not seen (Config.Notices.NewDevice).
	NewDevice string
	// FactorChanged tells the owner that a second factor was added or
	// removed (Config.Notices.FactorChanged).
	FactorChanged string
}

// DefaultSMSTemplates returns the texts used where Config.SMSTemplates
// leaves a field empty. They hold no name: what the user typed could make a
// text longer than one segment.
func DefaultSMSTemplates() SMSTemplates {
	return SMSTemplates{
		VerifyPhone:     "{{.Code}} is your {{.AppName}} verification code. It expires in {{duration .ExpiresIn}}. Do not share it with anyone.",
		SignInCode:      "{{.Code}} is your {{.AppName}} sign-in code. It expires in {{duration .ExpiresIn}}. Never share it: we will never ask you for it.",
		ResetCode:       "{{.Code}} is your {{.AppName}} password reset code. It expires in {{duration .ExpiresIn}}. If you did not ask for it, ignore this text.",
		PhoneChanged:    "The phone number of your {{.AppName}} account was changed. If you did not do this, reset your password and contact us at once.",
		NumberInUse:     "Someone asked to move another {{.AppName}} account to this number. It is your account's number already: nothing changed.",
		PasswordChanged: "The password of your {{.AppName}} account was changed. If you did not do this, reset your password and contact us at once.",
		NewDevice:       "New sign-in to your {{.AppName}} account from {{.Device}}. Not you? Reset your password.",
		FactorChanged:   "A second factor was {{if .Added}}added to{{else}}removed from{{end}} your {{.AppName}} account. Not you? Contact us at once.",
	}
}

// smsTemplate is a text message template parsed once, at New.
type smsTemplate struct{ body executor }

func parseSMSTemplate(name, src, def string) (smsTemplate, error) {
	if src == "" {
		src = def
	}
	t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(src)
	if err != nil {
		return smsTemplate{}, fmt.Errorf("authkit: SMSTemplates.%s: %w", name, err)
	}
	st := smsTemplate{body: t}
	// Execute once with sample data so a template that cannot run fails at New.
	if _, err := st.render("+15555555555", MessageData{AppName: "App", Code: "123456", NewPhone: "+15555555556", ExpiresIn: time.Minute}); err != nil {
		return smsTemplate{}, fmt.Errorf("authkit: SMSTemplates.%s: %w", name, err)
	}
	return st, nil
}

func (st smsTemplate) render(to string, d MessageData) (SMS, error) {
	var b bytes.Buffer
	if err := st.body.Execute(&b, d); err != nil {
		return SMS{}, err
	}
	return SMS{To: to, Body: b.String()}, nil
}

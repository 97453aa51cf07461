package authkit

// Notices to the owner (Config.Notices): after the fact, a message tells
// whoever owns the account that its password was changed or reset, or
// that a browser it had not seen signed in. One entry point per notice,
// called once where the event happens; each is promised to the courier
// (courier.go), as the email- and phone-changed notices are.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Notices are the messages that tell an account's owner what was done with
// it, after it was done. Each goes to the account's email if the account
// owns it (confirmed, or EmailConfirmation is off), else to its phone
// number if it owns that, else to nobody. A notice holds no link and no
// code, only what happened, when, and from which browser, system and IP.
//
// The notices of a change of email or number, to the old address or
// number, are not switches: they are always sent, for they are the only
// word the owner gets when someone else took the account over.
type Notices struct {
	// PasswordChanged tells the owner when the password is changed
	// (changePassword) or reset (by link or by code), once it is done
	// (EmailTemplates.PasswordChanged, SMSTemplates.PasswordChanged). A
	// reset that makes an account, for an address that only sign-ups waited
	// for, tells nobody: the account has no owner yet but the one who reset
	// it. Default Off.
	PasswordChanged Switch
	// NewDevice tells the owner when a session starts (a sign-in by
	// password, code, magic link, email change or OAuth) in a browser that
	// does not carry the account's device cookie: one that never signed in
	// to it, or whose last sign-in was to another account, or over a year
	// ago (EmailTemplates.NewDevice, SMSTemplates.NewDevice). The first
	// session of a new account (its sign-up, the confirmation that makes
	// it, its first OAuth sign-in) tells nobody. Where the app and the kit
	// are not same-site, browsers never send the device cookie (README:
	// "The device cookie"), so every sign-in tells. Default Off.
	NewDevice Switch
	// FactorChanged tells the owner when a second factor is added to the
	// account or removed from it (an authenticator app, a passkey, or
	// every factor by Kit.ResetFactors), once it is done
	// (EmailTemplates.FactorChanged, SMSTemplates.FactorChanged): a
	// factor added from a stolen session, which would outlive a password
	// reset, is then the owner's to see. Default Off.
	FactorChanged Switch
}

// noticeSettings are Config.Notices and their templates, checked by New.
type noticeSettings struct {
	passwordChanged, newDevice, factorChanged bool
	mail                                      struct{ passwordChanged, newDevice, factorChanged emailTemplate }
	text                                      struct{ passwordChanged, newDevice, factorChanged smsTemplate }
}

// configureNotices checks and applies Notices and the notices' templates
// (EmailTemplates and SMSTemplates: PasswordChanged, NewDevice).
func (k *Kit) configureNotices(cfg Config) error {
	n := &k.notices
	n.passwordChanged = cfg.Notices.PasswordChanged.on(false)
	n.newDevice = cfg.Notices.NewDevice.on(false)
	n.factorChanged = cfg.Notices.FactorChanged.on(false)
	mail, text := DefaultEmailTemplates(), DefaultSMSTemplates()
	var err error
	if n.mail.passwordChanged, err = parseEmailTemplate("PasswordChanged", cfg.EmailTemplates.PasswordChanged, mail.PasswordChanged); err != nil {
		return err
	}
	if n.mail.newDevice, err = parseEmailTemplate("NewDevice", cfg.EmailTemplates.NewDevice, mail.NewDevice); err != nil {
		return err
	}
	if n.text.passwordChanged, err = parseSMSTemplate("PasswordChanged", cfg.SMSTemplates.PasswordChanged, text.PasswordChanged); err != nil {
		return err
	}
	if n.mail.factorChanged, err = parseEmailTemplate("FactorChanged", cfg.EmailTemplates.FactorChanged, mail.FactorChanged); err != nil {
		return err
	}
	if n.text.factorChanged, err = parseSMSTemplate("FactorChanged", cfg.SMSTemplates.FactorChanged, text.FactorChanged); err != nil {
		return err
	}
	n.text.newDevice, err = parseSMSTemplate("NewDevice", cfg.SMSTemplates.NewDevice, text.NewDevice)
	return err
}

// noticePasswordChanged tells the owner of u, whose password was just
// changed or reset by the request of ctx, when Notices.PasswordChanged is
// on.
func (k *Kit) noticePasswordChanged(ctx context.Context, u User) {
	if !k.notices.passwordChanged {
		return
	}
	c := clientOf(ctx)
	d := noticeData(parseUserAgent(c.userAgent), c.ip, k.clock())
	k.notify(ctx, u, intentPasswordChanged, d)
}

// noticeNewDevice tells the owner of the account that a just started,
// when Notices.NewDevice is on, unless the request carries the account's
// device cookie (lockout.go) or first says that the session is the
// account's first: its sign-up, or the proof of its address that made it.
// Call it before the answer sets the cookie, which the request then did
// not carry.
func (k *Kit) noticeNewDevice(ctx context.Context, a SignIn, first bool) {
	if !k.notices.newDevice || first || a.Session == nil {
		return
	}
	if _, known := k.deviceOf(ctx, a.User.ID); known {
		return
	}
	s := *a.Session
	k.notify(ctx, a.User, intentNewDevice, noticeData(s.UserAgent, s.IP, s.CreatedAt))
}

// noticeFactorChanged tells the owner of u that a second factor of that
// kind was added (or removed) by the request of ctx, when
// Notices.FactorChanged is on; kind "" is every factor (ResetFactors).
func (k *Kit) noticeFactorChanged(ctx context.Context, u User, kind FactorKind, added bool) {
	if !k.notices.factorChanged {
		return
	}
	c := clientOf(ctx)
	d := noticeData(parseUserAgent(c.userAgent), c.ip, k.clock())
	d.Factor, d.Added = factorName(kind), added
	k.notify(ctx, u, intentFactorChanged, d)
}

// factorName is a kind of factor as a notice names it.
func factorName(kind FactorKind) string {
	switch kind {
	case FactorTOTP:
		return "an authenticator app"
	case FactorPasskey:
		return "a passkey"
	}
	return "every second factor"
}

// signUpGrant marks, in its Data, the grant of an OAuth sign-in that made
// the account: its exchange starts the account's first session.
var signUpGrant = []byte("sign-up")

// grantData is the Data of an OAuth sign-in's grant: signUpGrant when the
// sign-in made the account.
func grantData(madeAccount bool) []byte {
	if madeAccount {
		return bytes.Clone(signUpGrant)
	}
	return nil
}

// firstSession reports whether exchanging the grant g, of the link it
// spent (zero for none), starts the first session of the account: a
// waiting sign-up's link makes it; a confirmation proves the address of an
// account that could not sign in before it; an OAuth sign-in made it.
func firstSession(g, link Token) bool {
	return pending(link) || link.Purpose == PurposeConfirmEmail || bytes.Equal(g.Data, signUpGrant)
}

// notify promises a notice to the owner of u, through the courier: a mail
// to its email if u owns it, else a text to its number if u owns it, else
// nothing. The mail carries the user's name only to a confirmed address,
// the text only to a confirmed number (see MessageData.Name). kind names
// the notice (intentPasswordChanged, intentNewDevice); d holds what it
// tells.
func (k *Kit) notify(ctx context.Context, u User, kind string, d MessageData) {
	n := noticeIntent{Device: d.Device, IP: d.IP, At: d.At, Factor: d.Factor, Added: d.Added}
	i := Intent{Kind: kind, UserID: u.ID}
	switch {
	case u.Email != "" && k.owns(u, kindEmail):
		i.To, n.Channel = u.Email, "mail"
		if u.EmailVerified {
			n.Name = u.Name
		}
	case k.phone.enabled && u.Phone != "" && k.owns(u, kindPhone):
		i.To, n.Channel = u.Phone, "sms"
		if u.PhoneVerified {
			n.Name = u.Name
		}
	default:
		return
	}
	k.notice(ctx, i, n)
}

// noticeIntent is the data of a notice's intent: where it goes and what it
// tells. It holds no secret.
type noticeIntent struct {
	Channel string    `json:"channel"` // "mail" or "sms"
	Name    string    `json:"name,omitempty"`
	Device  string    `json:"device,omitempty"`
	IP      string    `json:"ip,omitempty"`
	At      time.Time `json:"at"`
	Factor  string    `json:"factor,omitempty"` // FactorChanged: which, as factorName names it
	Added   bool      `json:"added,omitempty"`  // FactorChanged: added, or removed
}

// deliverNotice sends the notice of intent i with the templates of its
// kind.
func (k *Kit) deliverNotice(ctx context.Context, i Intent) error {
	var n noticeIntent
	if err := json.Unmarshal(i.Data, &n); err != nil {
		return fmt.Errorf("authkit: reading a %s intent: %w", i.Kind, err)
	}
	mail, text := k.notices.mail.passwordChanged, k.notices.text.passwordChanged
	switch i.Kind {
	case intentNewDevice:
		mail, text = k.notices.mail.newDevice, k.notices.text.newDevice
	case intentFactorChanged:
		mail, text = k.notices.mail.factorChanged, k.notices.text.factorChanged
	}
	d := MessageData{Name: n.Name, Device: n.Device, IP: n.IP, At: n.At, Factor: n.Factor, Added: n.Added}
	if n.Channel == "sms" {
		return k.textNotice(ctx, User{ID: i.UserID, Name: n.Name}, i.To, text, d)
	}
	return k.mail(ctx, mail, i.To, d)
}

// noticeData is what a notice tells of a request: the browser and system
// of its user agent, its IP and when.
func noticeData(ua UserAgent, ip string, at time.Time) MessageData {
	d := MessageData{Device: describeDevice(ua), At: at.UTC()}
	if addr, err := netip.ParseAddr(ip); err == nil {
		d.IP = addr.Unmap().String()
	}
	return d
}

// describeDevice names a browser and its system for a person, as
// "Chrome 99 on Mac OS X 10.15". A parsed user agent may carry words of
// the header itself (ua-parser takes the names of unknown bots and apps
// from it), and whoever signs in writes the header: so only ASCII letters
// of each name are kept, at most maxDeviceName of them (whole words, but
// for a single long one), and versions of at most maxDeviceVersion
// letters and digits, so that a notice carries no link, no number to call
// and no long text of an attacker's. The longest result has 62
// characters.
func describeDevice(ua UserAgent) string {
	browser := deviceName(ua.Family, ua.Major)
	system := deviceName(ua.OS.Family, ua.OS.Major, ua.OS.Minor)
	switch {
	case browser == "" && system == "":
		return "an unknown browser"
	case system == "":
		return browser
	case browser == "":
		return "a browser on " + system
	}
	return browser + " on " + system
}

const (
	maxDeviceName    = 20
	maxDeviceVersion = 5
)

// deviceName is a family and its version, "" for an unknown family.
func deviceName(family string, version ...string) string {
	var b strings.Builder
	for _, r := range family {
		if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	name := strings.Join(strings.Fields(b.String()), " ")
	if len(name) > maxDeviceName {
		cut := name[:maxDeviceName]
		if name[maxDeviceName] != ' ' {
			if sp := strings.LastIndexByte(cut, ' '); sp > 0 {
				cut = cut[:sp] // no word cut in half
			}
		}
		name = strings.TrimSpace(cut)
	}
	if name == "" || name == "Other" {
		return ""
	}
	var parts []string
	for _, v := range version {
		if v == "" || v == "0" || len(v) > maxDeviceVersion || strings.IndexFunc(v, notAlnum) >= 0 {
			break
		}
		parts = append(parts, v)
	}
	if len(parts) > 0 {
		name += " " + strings.Join(parts, ".")
	}
	return name
}

func notAlnum(r rune) bool {
	return !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && !('0' <= r && r <= '9')
}

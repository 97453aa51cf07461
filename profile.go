package authkit

// The user's fields by who may write them: the profile fields a client
// may write (Config.ProfileFields), and the server data only the app
// writes (User.ServerData), of which the keys Config.PublicServerData
// names are answered among the user's fields.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// reservedFields are the fields, folded (see foldField), that no client
// and no profile may set, whatever the app allows: the kit's own, and
// the ones an app would take for them.
var reservedFields = map[string]bool{
	"id": true, "provider": true, "provideruserid": true,
	"email": true, "emailverified": true, "phone": true, "phoneverified": true,
	"signupat": true, "lastloginat": true, "password": true, "passwordhash": true,
	"accessgroups": true, "accessgroupkeys": true, "disabled": true, "serverdata": true,
	"stamp": true, "session": true, "token": true,
}

// foldField is a field name as reservedFields holds it: lower case, without
// underscores or hyphens, so that "Email_Verified" and "_ID" are caught as
// "emailVerified" and "_id" are.
func foldField(key string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(key))
}

// profileSettings are Config.ProfileFields, StrictProfile and
// PublicServerData, checked.
type profileSettings struct {
	fields map[string]bool // the fields a client may write
	strict bool            // a field off the list is refused, not dropped
	public []string        // the keys of ServerData on the wire
}

// configureProfile checks and applies ProfileFields, StrictProfile and
// PublicServerData.
func (k *Kit) configureProfile(cfg Config) error {
	fields := cfg.ProfileFields
	if fields == nil {
		fields = []string{"name", "profilePicture"}
	}
	k.profile.fields = map[string]bool{}
	for _, f := range fields {
		if f != "name" && f != "profilePicture" && (!validProfileKey(f) || reservedFields[foldField(f)]) {
			return fmt.Errorf("authkit: Config.ProfileFields: %q cannot be a profile field (the kit's own fields, such as email or accessGroups, are not the client's to write)", f)
		}
		k.profile.fields[f] = true
	}
	k.profile.strict = cfg.StrictProfile.on(false)
	for _, f := range cfg.PublicServerData {
		switch {
		case !validProfileKey(f) || reservedFields[foldField(f)] || f == "name" || f == "profilePicture":
			return fmt.Errorf("authkit: Config.PublicServerData: %q cannot be a field of the user's answer", f)
		case k.profile.fields[f]:
			return fmt.Errorf("authkit: Config.PublicServerData: %q is a profile field too, which a client writes", f)
		}
	}
	k.profile.public = slices.Clone(cfg.PublicServerData)
	return nil
}

// applyUserData fills u from what a client wrote for its profile
// (sign-up's nameOrUserData): a JSON string (the name) or an object of
// profile fields. A field that Config.ProfileFields does not allow, or
// that is reserved in any spelling, is dropped and logged, or refused
// with invalid_user_data when StrictProfile is on: the Altogic client
// sends what the app gives it, and a sign-up with "role": "admin" must
// not make an admin. name and profilePicture must be strings; other
// fields are kept as sent.
func (k *Kit) applyUserData(ctx context.Context, u *User, raw json.RawMessage) error {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	bad := func(msg string) error { return newError(CodeInvalidUserData, msg) }
	notData := "nameOrUserData must be a name or an object of profile fields."
	switch raw[0] {
	case '"':
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return bad(notData)
		}
		if !k.profile.fields["name"] {
			return k.offList(ctx, "name")
		}
		return setName(u, name)
	case '{':
	default:
		return bad(notData)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return bad(notData)
	}
	if len(fields) > maxProfileFields {
		return bad("nameOrUserData has too many fields.")
	}
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		v := fields[key]
		if !k.profile.fields[key] || reservedFields[foldField(key)] {
			if err := k.offList(ctx, key); err != nil {
				return err
			}
			continue
		}
		switch key {
		case "name", "profilePicture":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return bad(key + " must be a string.")
			}
			if key == "name" {
				if err := setName(u, s); err != nil {
					return err
				}
			} else {
				if len(s) > 2048 || strings.ContainsFunc(s, unprintable) {
					return bad("profilePicture must be a URL of at most 2048 characters.")
				}
				u.ProfilePicture = s
			}
		default:
			if u.Profile == nil {
				u.Profile = map[string]json.RawMessage{}
			}
			u.Profile[key] = append(json.RawMessage(nil), v...)
		}
	}
	return nil
}

// offList answers a profile field that the client may not write: an error
// naming it when StrictProfile is on, else nil, and a log line.
func (k *Kit) offList(ctx context.Context, key string) error {
	if k.profile.strict {
		e := newError(CodeInvalidUserData, "nameOrUserData has a field the app does not let a client write: "+key)
		e.Details = map[string]any{"field": key}
		return e
	}
	k.log.WarnContext(ctx, "authkit: a profile field the client may not write was dropped", "field", key)
	return nil
}

// wire is u as answers show it: its ServerData among its fields for the
// keys Config.PublicServerData names (over a profile field of that name,
// which no client can have written since).
func (k *Kit) wire(u User) User {
	if len(k.profile.public) == 0 || len(u.ServerData) == 0 {
		return u
	}
	p := maps.Clone(u.Profile)
	for _, key := range k.profile.public {
		if v, ok := u.ServerData[key]; ok {
			if p == nil {
				p = map[string]json.RawMessage{}
			}
			p[key] = v
		}
	}
	u.Profile = p
	return u
}

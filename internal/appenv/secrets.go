package appenv

import (
	"errors"
	"fmt"
	"strings"
)

// Secrets reads AUTHKIT_SECRET, or AUTHKIT_SECRETS while a secret is
// rotated (the new one first, then the old, comma-separated), for
// Config.Secrets: each at least 32 characters, the same on every instance,
// so that SMS codes and OAuth sign-ins in flight survive a restart and work
// on any instance. Unset, it returns none and the kit makes one per
// process. make names the command that makes a secret, for the errors.
func Secrets(getenv func(string) string, make string) ([][]byte, error) {
	one, many := getenv("AUTHKIT_SECRET"), getenv("AUTHKIT_SECRETS")
	if one != "" && many != "" {
		return nil, errors.New("AUTHKIT_SECRET and AUTHKIT_SECRETS are both set: set AUTHKIT_SECRETS (new,old) while rotating, AUTHKIT_SECRET otherwise")
	}
	name, list := "AUTHKIT_SECRET", []string{one}
	if many != "" {
		name, list = "AUTHKIT_SECRETS", strings.Split(many, ",")
	}
	if list[0] == "" {
		return nil, nil
	}
	var out [][]byte
	for i, s := range list {
		if s = strings.TrimSpace(s); len(s) < 32 {
			return nil, fmt.Errorf("%s: secret %d has %d characters; each needs at least 32 random ones (%s makes one)", name, i+1, len(s), make)
		}
		out = append(out, []byte(s))
	}
	return out, nil
}

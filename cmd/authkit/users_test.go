package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUsers(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		ok(t, cli(t, nil, "", "--db", dsn, "migrate"))
		db := func(args ...string) []string { return append([]string{"--db", dsn}, args...) }

		id := strings.TrimSpace(ok(t, cli(t, nil, "correct horse battery\n", db("users", "create", "--email", "Ann@Example.com", "--name", "Ann",
			"--email-verified", "--group", "staff", "--password-stdin")...)).stdout)
		require.Regexp(t, `^[0-9a-f]{24}$`, id)
		ok(t, cli(t, nil, "", db("users", "create", "--phone", "+1 555 555 5555", "--name", "Bob")...))

		r := cli(t, nil, "", db("users", "create", "--email", "ann@example.com")...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "email_taken")
		r = cli(t, nil, "123\n", db("users", "create", "--email", "c@example.com", "--password-stdin")...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "password_too_short")
		r = cli(t, nil, "", db("users", "create", "--email", "c@example.com", "--password-hash", "md5:abc")...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "neither an argon2id PHC string nor a bcrypt hash")

		list := ok(t, cli(t, nil, "", db("users", "list")...)).stdout
		require.Contains(t, list, "ann@example.com")
		require.Contains(t, list, "+15555555555")
		require.Len(t, strings.Split(strings.TrimSpace(list), "\n"), 3, "a header and two users")
		lines := strings.Split(strings.TrimSpace(ok(t, cli(t, nil, "", db("users", "list", "--json", "--limit", "1")...)).stdout), "\n")
		require.Len(t, lines, 1)

		var u userJSON
		require.NoError(t, json.Unmarshal([]byte(ok(t, cli(t, nil, "", db("users", "show", "--json", "ANN@example.com")...)).stdout), &u))
		require.Equal(t, id, u.ID)
		require.True(t, u.EmailVerified)
		require.Equal(t, []string{"staff"}, u.AccessGroups)
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", "+15555555555")...)).stdout, "Bob")
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", id)...)).stdout, "ann@example.com")
		r = cli(t, nil, "", db("users", "show", "nobody@example.com")...)
		require.Equal(t, exitNotFound, r.code)
		require.Contains(t, r.stderr, `no user "nobody@example.com"`)

		// Groups.
		require.Equal(t, "admin\nstaff\n", ok(t, cli(t, nil, "", db("users", "groups", id, "--add", "admin")...)).stdout)
		require.Equal(t, "admin\n", ok(t, cli(t, nil, "", db("users", "groups", id, "--remove", "staff")...)).stdout)
		require.Equal(t, "a\nb\n", ok(t, cli(t, nil, "", db("users", "groups", id, "--set", "a,b")...)).stdout)
		require.Equal(t, "a\nb\n", ok(t, cli(t, nil, "", db("users", "groups", id)...)).stdout)
		require.Equal(t, "", ok(t, cli(t, nil, "", db("users", "groups", id, "--clear")...)).stdout)
		require.Equal(t, exitUsage, cli(t, nil, "", db("users", "groups", id, "--set", "a", "--add", "b")...).code)

		// Sessions, then set-password ends them.
		s := store(t, dsn)
		addSessions(t, s, id, "s1", "s2", "s3")
		list = ok(t, cli(t, nil, "", db("sessions", "list", "ann@example.com")...)).stdout
		require.Contains(t, list, "s1")
		require.Contains(t, list, "Firefox 120")
		ok(t, cli(t, nil, "", db("sessions", "revoke", id, "s2")...))
		r = cli(t, nil, "", db("sessions", "revoke", id, "s2")...)
		require.Equal(t, exitNotFound, r.code)
		require.Contains(t, r.stderr, "has no session s2")
		r = cli(t, nil, "", db("sessions", "revoke", id)...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "or give --all")
		require.Len(t, jsonLines(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout), 2)
		ok(t, cli(t, nil, "", db("sessions", "revoke", id, "--all")...))
		require.Empty(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout)

		addSessions(t, s, id, "s4")
		before, err := s.UserByID(context.Background(), id)
		require.NoError(t, err)
		ok(t, cli(t, nil, "a new long passphrase\n", db("users", "set-password", id)...))
		after, err := s.UserByID(context.Background(), id)
		require.NoError(t, err)
		require.NotEqual(t, before.PasswordHash, after.PasswordHash)
		require.True(t, strings.HasPrefix(after.PasswordHash, "$argon2id$"))
		require.Empty(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout, "set-password ended the sessions")

		// Disable, enable.
		addSessions(t, s, id, "s5")
		ok(t, cli(t, nil, "", db("users", "disable", id)...))
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", id)...)).stdout, "disabled:          yes")
		require.Empty(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout)
		ok(t, cli(t, nil, "", db("users", "enable", id)...))
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", id)...)).stdout, "disabled:          no")

		// Delete needs --yes.
		r = cli(t, nil, "", db("users", "delete", id)...)
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "add --yes")
		ok(t, cli(t, nil, "", db("users", "delete", "--yes", "ann@example.com")...))
		require.Equal(t, exitNotFound, cli(t, nil, "", db("users", "show", id)...).code)
		require.Len(t, strings.Split(strings.TrimSpace(ok(t, cli(t, nil, "", db("users", "list")...)).stdout), "\n"), 2)
	})
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authkit/authkit"
)

const userArgHelp = `USER is a user's id, email address, or phone number in international form
(+15555555555).`

func (a *app) usersCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "users",
		Short: "Create, import, list, show, change and delete users",
		Long: `users manages the app's accounts through the kit's Go API (Kit.CreateUser,
Kit.SetPassword, Kit.DeleteUser…), with the kit's default rules for emails,
numbers and passwords. No hook of the app runs: a Hooks.BeforeDeleteUser does
not stop "users delete", and nothing is sent to the users.

` + userArgHelp,
	}
	group(c)
	c.AddCommand(a.usersCreateCmd(), a.usersImportCmd(), a.usersListCmd(), a.usersShowCmd(),
		a.usersSetPasswordCmd(), a.usersGroupsCmd(), a.usersDisableCmd(), a.usersEnableCmd(), a.usersDeleteCmd())
	return c
}

// withKit runs f with a Kit on --db, closed after.
func (a *app) withKit(cmd *cobra.Command, f func(ctx context.Context, kit *authkit.Kit) error) error {
	ctx := cmd.Context()
	kit, _, closeAll, err := a.open(ctx, kitOptions{})
	if err != nil {
		return err
	}
	defer closeAll()
	return f(ctx, kit)
}

// withUser runs f with a kit on the command's database and the user that
// arg names (see findUser).
func (a *app) withUser(cmd *cobra.Command, arg string, f func(ctx context.Context, kit *authkit.Kit, u authkit.User) error) error {
	return a.withKit(cmd, func(ctx context.Context, kit *authkit.Kit) error {
		u, err := findUser(ctx, kit, arg)
		if err != nil {
			return err
		}
		return f(ctx, kit, u)
	})
}

// findUser returns the user that arg names: an id, an email or a phone
// number.
func findUser(ctx context.Context, kit *authkit.Kit, arg string) (authkit.User, error) {
	var (
		u   authkit.User
		err error
	)
	if strings.Contains(arg, "@") || strings.HasPrefix(arg, "+") {
		u, err = kit.FindUser(ctx, arg)
	} else {
		u, err = kit.User(ctx, arg)
	}
	if err != nil {
		err = kitError(err)
		if ee, ok := err.(*exitError); ok && ee.code == exitNotFound {
			return u, fail(exitNotFound, "no user %q: give an id, an email or a +number (authkit users list shows them)", arg)
		}
	}
	return u, err
}

// readPassword reads one line of r: the password, without its line end.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fail(exitFailed, "reading the password from stdin: %v", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fail(exitUsage, "no password on stdin: pipe it in, e.g. printf '%%s\\n' \"$PW\" | authkit …")
	}
	return pw, nil
}

func (a *app) usersCreateCmd() *cobra.Command {
	var (
		n             authkit.NewUser
		passwordStdin bool
		asJSON        bool
	)
	c := &cobra.Command{
		Use:   "create --email EMAIL | --phone NUMBER [flags]",
		Short: "Make an account (prints its id)",
		Long: `create makes an account, as Kit.CreateUser does: no hook runs and nothing is
sent. The password comes from stdin (--password-stdin), never from a flag, or
is an existing hash (--password-hash: argon2id or bcrypt, upgraded to the
kit's argon2id at the first sign-in); with neither, the account signs in by
link, code or provider only. It prints the new user's id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n.Email == "" && n.Phone == "" {
				return fail(exitUsage, "users create needs --email or --phone")
			}
			if passwordStdin {
				if n.PasswordHash != "" {
					return fail(exitUsage, "give --password-stdin or --password-hash, not both")
				}
				pw, err := readPassword(a.stdin)
				if err != nil {
					return err
				}
				n.Password = pw
			}
			return a.withKit(cmd, func(ctx context.Context, kit *authkit.Kit) error {
				u, err := kit.CreateUser(ctx, n)
				if err != nil {
					return kitError(err)
				}
				if asJSON {
					return printJSON(a.stdout, userView(u))
				}
				fmt.Fprintln(a.stdout, u.ID)
				return nil
			})
		},
	}
	f := c.Flags()
	f.StringVar(&n.Email, "email", "", "the email `address`")
	f.BoolVar(&n.EmailVerified, "email-verified", false, "the address is confirmed: no confirmation is asked")
	f.StringVar(&n.Phone, "phone", "", "the phone `number`, in international form")
	f.BoolVar(&n.PhoneVerified, "phone-verified", false, "the number is confirmed")
	f.StringVar(&n.Name, "name", "", "the user's name")
	f.StringSliceVar(&n.AccessGroups, "group", nil, "an access `group` to put the user in (repeat, or comma-separate)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	f.StringVar(&n.PasswordHash, "password-hash", "", "an existing argon2id or bcrypt `hash` to keep")
	f.BoolVar(&asJSON, "json", false, "print the user as JSON")
	return c
}

func (a *app) usersListCmd() *cobra.Command {
	var (
		after  string
		limit  int
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List users by id, a table or JSON lines",
		Long: `list prints the users in id order: a table, or one JSON object a line with
--json. --limit bounds how many (0: all); --after ID starts after that id, so
the last id of one page starts the next.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return fail(exitUsage, "--limit is 0 (all) or more")
			}
			return a.withKit(cmd, func(ctx context.Context, kit *authkit.Kit) error {
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				if !asJSON {
					fmt.Fprintln(tw, "ID\tEMAIL\tPHONE\tNAME\tVERIFIED\tGROUPS\tDISABLED\tSIGNED UP")
				}
				for printed := 0; limit == 0 || printed < limit; {
					page := authkit.MaxUsersPage
					if limit > 0 {
						page = min(page, limit-printed)
					}
					users, err := kit.ListUsers(ctx, after, page)
					if err != nil {
						return kitError(err)
					}
					for _, u := range users {
						if asJSON {
							if err := printJSON(a.stdout, userView(u)); err != nil {
								return err
							}
						} else {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, dash(u.Email), dash(u.Phone), dash(u.Name),
								dash(verified(u)), dash(strings.Join(u.AccessGroups, ",")), yes(u.Disabled), u.SignUpAt.Format(time.DateOnly))
						}
					}
					printed += len(users)
					if len(users) < page {
						break
					}
					after = users[len(users)-1].ID
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().StringVar(&after, "after", "", "start after this user `id`")
	c.Flags().IntVar(&limit, "limit", 0, "list at most this many users (0: all)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	return c
}

func (a *app) usersShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show USER",
		Short: "Show a user",
		Long:  "show prints a user's fields (never the password hash).\n\n" + userArgHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				if asJSON {
					return printJSON(a.stdout, userView(u))
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				profile, data := "-", "-"
				if len(u.Profile) > 0 {
					b, _ := json.Marshal(u.Profile)
					profile = string(b)
				}
				if len(u.ServerData) > 0 {
					b, _ := json.Marshal(u.ServerData)
					data = string(b)
				}
				for _, kv := range [][2]string{
					{"id", u.ID}, {"provider", u.Provider}, {"provider user id", u.ProviderUserID},
					{"email", dash(u.Email)}, {"email verified", yes(u.EmailVerified)},
					{"phone", dash(u.Phone)}, {"phone verified", yes(u.PhoneVerified)},
					{"name", dash(u.Name)}, {"profile picture", dash(u.ProfilePicture)}, {"profile", profile},
					{"access groups", dash(strings.Join(u.AccessGroups, ", "))}, {"server data", data},
					{"disabled", yes(u.Disabled)},
					{"signed up", u.SignUpAt.Format(time.RFC3339)}, {"last sign-in", u.LastLoginAt.Format(time.RFC3339)},
				} {
					fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) usersSetPasswordCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-password USER < password",
		Short: "Set a user's password, read from stdin; ends their sessions",
		Long: `set-password sets a user's password to the first line of stdin, as a reset
does (Kit.SetPassword): it must pass the kit's default password rules, every
session of the user ends and every link and code sent before is void. The
app's AfterPasswordChange hook does not run, and no notice is sent.

` + userArgHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				pw, err := readPassword(a.stdin)
				if err != nil {
					return err
				}
				if err := kit.SetPassword(ctx, u.ID, pw); err != nil {
					return kitError(err)
				}
				fmt.Fprintf(a.stdout, "password set for %s; their sessions ended\n", u.ID)
				return nil
			})
		},
	}
}

func (a *app) usersGroupsCmd() *cobra.Command {
	var set, add, remove []string
	var clear bool
	c := &cobra.Command{
		Use:   "groups USER [--set G,… | --add G,… | --remove G,… | --clear]",
		Short: "Show or change a user's access groups",
		Long: `groups prints a user's access groups, one a line, after changing them if
asked: --set makes them exactly these, --add and --remove change some and keep
the others (each one conditional write, so a concurrent change by the app is
kept), --clear removes every one. The change takes effect at the user's next
request.

` + userArgHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			changes := 0
			for _, on := range []bool{set != nil, add != nil || remove != nil, clear} {
				if on {
					changes++
				}
			}
			if changes > 1 {
				return fail(exitUsage, "give --set, --clear, or --add and --remove, not several")
			}
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				var err error
				switch {
				case set != nil || clear:
					u, err = kit.SetAccessGroups(ctx, u.ID, set...)
				default:
					if add != nil {
						if u, err = kit.AddAccessGroups(ctx, u.ID, add...); err != nil {
							break
						}
					}
					if remove != nil {
						u, err = kit.RemoveAccessGroups(ctx, u.ID, remove...)
					}
				}
				if err != nil {
					return kitError(err)
				}
				for _, g := range u.AccessGroups {
					fmt.Fprintln(a.stdout, g)
				}
				return nil
			})
		},
	}
	c.Flags().StringSliceVar(&set, "set", nil, "make these the user's `groups`")
	c.Flags().StringSliceVar(&add, "add", nil, "add the user to these `groups`")
	c.Flags().StringSliceVar(&remove, "remove", nil, "take the user out of these `groups`")
	c.Flags().BoolVar(&clear, "clear", false, "take the user out of every group")
	return c
}

func (a *app) usersDisableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "disable USER",
		Short: "Disable a user: their sessions end, and they cannot sign in",
		Long: `disable disables a user (Kit.DisableUser): their sessions end at once on every
instance, their links and codes are void, and they cannot sign in by any
method until "users enable".

` + userArgHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				if err := kit.DisableUser(ctx, u.ID); err != nil {
					return kitError(err)
				}
				fmt.Fprintf(a.stdout, "disabled %s; their sessions ended\n", u.ID)
				return nil
			})
		},
	}
}

func (a *app) usersEnableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "enable USER",
		Short: "Let a disabled user sign in again",
		Long:  "enable lets a disabled user sign in again (Kit.EnableUser); the sessions they had stay ended.\n\n" + userArgHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				if err := kit.EnableUser(ctx, u.ID); err != nil {
					return kitError(err)
				}
				fmt.Fprintf(a.stdout, "enabled %s\n", u.ID)
				return nil
			})
		},
	}
}

func (a *app) usersDeleteCmd() *cobra.Command {
	var sure bool
	c := &cobra.Command{
		Use:   "delete USER --yes",
		Short: "Delete a user with their sessions, links and codes (no hook runs)",
		Long: `delete deletes a user, their sessions and their links and codes in one step
(Kit.DeleteUser); their email and number are free for a new sign-up at once.
It cannot be undone, so it needs --yes.

The app's hooks do not run: Hooks.BeforeDeleteUser cannot stop the delete,
and AfterDeleteUser does not clean up the app's own data about the user. Do
that in the app, or delete through the app.

` + userArgHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !sure {
				return fail(exitRefused, "deleting a user cannot be undone: add --yes to delete %s", args[0])
			}
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				if err := kit.DeleteUser(ctx, u.ID); err != nil {
					return kitError(err)
				}
				fmt.Fprintf(a.stdout, "deleted %s\n", u.ID)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&sure, "yes", false, "delete: it cannot be undone")
	return c
}

// userJSON is a user as the command prints it: every field but the
// password hash and the stamp.
type userJSON struct {
	ID             string                     `json:"id"`
	Provider       string                     `json:"provider"`
	ProviderUserID string                     `json:"providerUserId"`
	Email          string                     `json:"email,omitempty"`
	EmailVerified  bool                       `json:"emailVerified"`
	Phone          string                     `json:"phone,omitempty"`
	PhoneVerified  bool                       `json:"phoneVerified"`
	Name           string                     `json:"name,omitempty"`
	ProfilePicture string                     `json:"profilePicture,omitempty"`
	Profile        map[string]json.RawMessage `json:"profile,omitempty"`
	AccessGroups   []string                   `json:"accessGroups"`
	ServerData     map[string]json.RawMessage `json:"serverData,omitempty"`
	Disabled       bool                       `json:"disabled"`
	SignUpAt       time.Time                  `json:"signUpAt"`
	LastLoginAt    time.Time                  `json:"lastLoginAt"`
}

func userView(u authkit.User) userJSON {
	groups := u.AccessGroups
	if groups == nil {
		groups = []string{}
	}
	return userJSON{u.ID, u.Provider, u.ProviderUserID, u.Email, u.EmailVerified, u.Phone, u.PhoneVerified,
		u.Name, u.ProfilePicture, u.Profile, groups, u.ServerData, u.Disabled, u.SignUpAt, u.LastLoginAt}
}

func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func verified(u authkit.User) string {
	var v []string
	if u.EmailVerified {
		v = append(v, "email")
	}
	if u.PhoneVerified {
		v = append(v, "phone")
	}
	return strings.Join(v, ",")
}

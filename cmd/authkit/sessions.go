package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authkit/authkit"
)

func (a *app) sessionsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sessions",
		Short: "List and revoke a user's sessions",
		Long:  "sessions lists a user's live sessions, and ends some or all of them.\n\n" + userArgHelp,
	}
	group(c)
	c.AddCommand(a.sessionsListCmd(), a.sessionsRevokeCmd())
	return c
}

func (a *app) sessionsListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list USER",
		Short: "List a user's live sessions, oldest first",
		Long:  "list prints a user's live sessions, oldest first (Kit.UserSessions). The ID names a session for \"sessions revoke\"; it is no credential.\n\n" + userArgHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				sessions, err := kit.UserSessions(ctx, u.ID)
				if err != nil {
					return kitError(err)
				}
				if asJSON {
					for _, s := range sessions {
						if err := printJSON(a.stdout, sessionView(s)); err != nil {
							return err
						}
					}
					return nil
				}
				tw := tabwriter.NewWriter(a.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTARTED\tLAST SEEN\tEXPIRES\tIP\tBROWSER\tOS")
				for _, s := range sessions {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.CreatedAt.Format(time.RFC3339), s.LastSeenAt.Format(time.RFC3339),
						s.ExpiresAt.Format(time.RFC3339), dash(s.IP), dash(strings.TrimSpace(s.UserAgent.Family+" "+s.UserAgent.Major)),
						dash(strings.TrimSpace(s.UserAgent.OS.Family+" "+s.UserAgent.OS.Major)))
				}
				return tw.Flush()
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	return c
}

func (a *app) sessionsRevokeCmd() *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "revoke USER (SESSION-ID… | --all)",
		Short: "End some of a user's sessions, or all of them",
		Long: `revoke ends the user's sessions that the IDs name (Kit.EndSession; "sessions
list" shows them), or with --all every session of the user, voiding the links
and codes sent before too, as a sign-out everywhere does (Kit.EndSessions).
Sessions end at once on every instance of the app.

` + userArgHelp,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 1:
				return fail(exitUsage, "give session IDs or --all, not both")
			case !all && len(args) == 1:
				return fail(exitUsage, "name the sessions to end (authkit sessions list %s shows them), or give --all", args[0])
			}
			return a.withUser(cmd, args[0], func(ctx context.Context, kit *authkit.Kit, u authkit.User) error {
				if all {
					if err := kit.EndSessions(ctx, u.ID); err != nil {
						return kitError(err)
					}
					fmt.Fprintf(a.stdout, "ended every session of %s\n", u.ID)
					return nil
				}
				for _, id := range args[1:] {
					if err := kit.EndSession(ctx, u.ID, id); err != nil {
						if ee, ok := kitError(err).(*exitError); ok && ee.code == exitNotFound {
							return fail(exitNotFound, "%s has no session %s (authkit sessions list %s shows them)", u.ID, id, args[0])
						}
						return kitError(err)
					}
					fmt.Fprintf(a.stdout, "ended session %s\n", id)
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "end every session of the user")
	return c
}

// sessionJSON is a session as the command prints it.
type sessionJSON struct {
	ID         string            `json:"id"`
	UserID     string            `json:"userId"`
	CreatedAt  time.Time         `json:"createdAt"`
	LastSeenAt time.Time         `json:"lastSeenAt"`
	ExpiresAt  time.Time         `json:"expiresAt"`
	IP         string            `json:"ip"`
	UserAgent  authkit.UserAgent `json:"userAgent"`
}

func sessionView(s authkit.Session) sessionJSON {
	return sessionJSON{s.ID, s.UserID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.IP, s.UserAgent}
}

package authkit

import (
	"context"
	"log/slog"
)

// Where a request comes from, in every record the kit logs while serving
// it (SECURITY 36): the flows log deep down, and in the background after
// the answer, where the request itself is out of reach.

// clientKey is the context key of the client of the request being served.
type clientKey struct{}

// client is where a request comes from: its IP, its user agent, and the
// device cookie it sent (lockout.go), unchecked.
type client struct{ ip, userAgent, device string }

// clientOf is where the request being served comes from, as withClient
// or the session middlewares noted it; zero outside a request.
func clientOf(ctx context.Context) client {
	c, _ := clientIn(ctx)
	return c
}

// clientIn is the client of ctx, and whether it has one: under clientKey,
// or in the caller the session middlewares put there (which saves a
// context value on every authenticated request).
func clientIn(ctx context.Context) (client, bool) {
	if c, ok := ctx.Value(clientKey{}).(client); ok {
		return c, true
	}
	if c, ok := ctx.Value(ctxKey{}).(*caller); ok {
		return c.clientOf()
	}
	return client{}, false
}

// clientLog is the kit's log handler: it adds the ip and userAgent of the
// request being served to a record logged with its context that does not
// say them already.
type clientLog struct{ slog.Handler }

func (h clientLog) Handle(ctx context.Context, rec slog.Record) error {
	if c, ok := clientIn(ctx); ok {
		said := false
		rec.Attrs(func(a slog.Attr) bool {
			said = a.Key == "ip"
			return !said
		})
		if !said {
			rec = rec.Clone()
			rec.AddAttrs(slog.String("ip", c.ip), slog.String("userAgent", c.userAgent))
		}
	}
	return h.Handler.Handle(ctx, rec)
}

func (h clientLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return clientLog{h.Handler.WithAttrs(attrs)}
}

func (h clientLog) WithGroup(name string) slog.Handler {
	return clientLog{h.Handler.WithGroup(name)}
}

// event logs an auth event: never a secret, always who and, through the
// context (see clientLog), from where.
func (k *Kit) event(ctx context.Context, what, userID string) {
	k.log.InfoContext(ctx, "authkit: "+what, "user", userID)
}

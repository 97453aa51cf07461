package authkit

import (
	"context"
	"log/slog"
	"net/http"
)

// Where a request comes from, in every record the kit logs while serving
// it (SECURITY 36): the flows log deep down, and in the background after
// the answer, where the request itself is out of reach.

// clientKey is the context key of the client of the request being served.
type clientKey struct{}

// client is where a request comes from.
type client struct{ ip, userAgent string }

// maxLoggedUserAgent bounds the user agent in the logs: the header may
// take a megabyte, a log line should not.
const maxLoggedUserAgent = 512

// withClient notes in r's context where r comes from.
func (k *Kit) withClient(r *http.Request) *http.Request {
	ua := r.UserAgent()
	if len(ua) > maxLoggedUserAgent {
		ua = ua[:maxLoggedUserAgent]
	}
	return r.WithContext(context.WithValue(r.Context(), clientKey{}, client{ip: k.clientIP(r), userAgent: ua}))
}

// clientLog is the kit's log handler: it adds the ip and userAgent of the
// request being served to a record logged with its context that does not
// say them already.
type clientLog struct{ slog.Handler }

func (h clientLog) Handle(ctx context.Context, rec slog.Record) error {
	if c, ok := ctx.Value(clientKey{}).(client); ok {
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

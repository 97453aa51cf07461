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

// maxUserAgent bounds the user agent the kit keeps of a request, in its
// logs and in the sessions it stores: the header may take a megabyte, a log
// line or a session row should not. Real browsers send a few hundred bytes.
const maxUserAgent = 512

// cappedUserAgent is r's User-Agent as the kit keeps it, at most
// maxUserAgent bytes: every log record and every stored session takes it
// from here, through the request's context (clientOf).
func cappedUserAgent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return ua
}

// withClient notes in r's context where r comes from.
func (k *Kit) withClient(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientKey{}, client{ip: k.clientIP(r), userAgent: cappedUserAgent(r)}))
}

// clientOf is where the request being served comes from, as withClient
// noted it; zero outside a request.
func clientOf(ctx context.Context) client {
	c, _ := ctx.Value(clientKey{}).(client)
	return c
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

package authkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// How the kit answers HTTP requests: JSON bodies read strictly, answers and
// errors written in the Altogic shapes, and the headers of every answer
// that carries credentials.

// wireError is one entry of the Altogic error body.
type wireError struct {
	Origin  string         `json:"origin"`
	Code    Code           `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// writeError answers err as the Altogic error body. Errors that are not an
// *Error are internal: logged, and answered 500 without their text. A
// request whose client went away (its context canceled) before its
// answer is logged as such, at debug level, whatever failed meanwhile:
// nobody reads the answer.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = internalError(err)
	}
	status := e.HTTPStatus()
	privateHeaders(w.Header())
	if status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && e.RetryAfter > 0) {
		w.Header().Set("Retry-After", retryAfterHeader(e.RetryAfter))
	}
	if status >= 500 && log != nil {
		logFailure(r, log, "authkit: request failed", e, "method", r.Method, "path", r.URL.Path)
	}
	body := struct {
		Errors [1]wireError `json:"errors"`
	}{[1]wireError{{Origin: "client_error", Code: e.Code, Message: e.Message, Details: e.Details}}}
	if status >= 500 {
		body.Errors[0].Origin = "server_error"
	}
	writeJSON(w, status, body)
}

// logFailure logs a request that failed with e, a 5xx: as an error with
// msg, unless the request's context ended first. A client that went away
// (its context canceled) is logged at debug level, whatever failed
// meanwhile, since nobody reads the answer; a deadline of the host's (a
// context that ended otherwise) as a warning.
func logFailure(r *http.Request, log *slog.Logger, msg string, e *Error, attrs ...any) {
	ctx := r.Context()
	switch ctxErr := ctx.Err(); {
	case errors.Is(ctxErr, context.Canceled):
		log.DebugContext(ctx, "authkit: client went away", append(attrs, "failed", msg, "err", e.Err)...)
	case ctxErr != nil:
		log.WarnContext(ctx, "authkit: the request's context ended before its answer",
			append(attrs, "failed", msg, "code", e.Code, "err", e.Err, "ctxErr", ctxErr)...)
	default:
		log.ErrorContext(ctx, msg, append(attrs, "code", e.Code, "err", e.Err)...)
	}
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError,
			[]byte(`{"errors":[{"origin":"server_error","code":"internal_error","message":"Something went wrong on our side."}]}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// maxBody caps every request body.
const maxBody = 64 << 10

// privateHeaders marks an answer as one that carries credentials: never
// cached, and never leaking its URL (which may hold a key) as a Referer.
func privateHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

// decodeBody reads a JSON object into v strictly: at most maxBody bytes,
// Content-Type application/json, no unknown fields, nothing after it. An
// absent body leaves v as it is when optional is true.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return newError(CodeRequestTooLarge, "The request body is too large.")
	}
	if err != nil {
		return newError(CodeBadRequest, "The request body could not be read.")
	}
	if !utf8.Valid(body) {
		// The decoder would turn bad bytes into U+FFFD, and two different
		// passwords into one.
		return newError(CodeBadRequest, "The request body is not valid UTF-8.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return newError(CodeBadRequest, "The request needs a JSON body.")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return newError(CodeUnsupportedMediaType, "The request body must be application/json.")
	}
	if err := strictObject(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return newError(CodeBadRequest, "The request body must hold one JSON object.")
	}
	return nil
}

// badJSON turns a decoding error into an answer that says what was wrong
// without echoing the value.
func badJSON(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		e := newError(CodeBadRequest, "The field "+typeErr.Field+" must be a "+typeErr.Type.String()+".")
		e.Details = map[string]any{"field": typeErr.Field}
		return e
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		e := newError(CodeBadRequest, "The field "+field+" is not known.")
		e.Details = map[string]any{"field": field}
		return e
	}
	return newError(CodeBadRequest, "The request body is not a valid JSON object.")
}

// ok answers a call whose client reads nothing but errors.
func ok(w http.ResponseWriter) error {
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// retryAfterHeader is the Retry-After value of a wait.
func retryAfterHeader(wait time.Duration) string {
	return strconv.FormatInt(retrySeconds(wait), 10)
}

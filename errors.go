package authkit

import (
	"errors"
	"net/http"
	"time"
)

// Code is a stable, snake_case error code. Clients switch on it; it never
// changes meaning. Every code the kit answers with is listed below and in the
// README.
type Code string

// The error codes, with the HTTP status each is answered with.
const (
	CodeBadRequest               Code = "bad_request"               // 400: the body or query is malformed
	CodeInvalidEmail             Code = "invalid_email"             // 400: not a usable email address
	CodeInvalidUserData          Code = "invalid_user_data"         // 400: nameOrUserData is unusable
	CodeInvalidName              Code = "invalid_name"              // 400: a name is not one short line of text
	CodePasswordTooShort         Code = "password_too_short"        // 400
	CodePasswordTooLong          Code = "password_too_long"         // 400
	CodePasswordTooCommon        Code = "password_too_common"       // 400: among the 100,000 commonest breached passwords, or breached per Config.PasswordChecker
	CodeInvalidToken             Code = "invalid_token"             // 400: a link token, grant key or MFA ticket that is unknown, spent or expired
	CodeEmailUnchanged           Code = "email_unchanged"           // 400: change-email to the current address
	CodeInvalidPhone             Code = "invalid_phone"             // 400: not a possible phone number in international format
	CodeInvalidCode              Code = "invalid_code"              // 400: an SMS, TOTP or recovery code that is malformed, wrong, expired, spent or dead
	CodePhoneUnchanged           Code = "phone_unchanged"           // 400: change-phone to the current number
	CodeInvalidCredentials       Code = "invalid_credentials"       // 401: sign-in failed (unknown account or wrong password alike)
	CodeMissingSessionToken      Code = "missing_session_token"     // 401: the route needs a session and none was sent
	CodeInvalidSessionToken      Code = "invalid_session_token"     // 401: the session is unknown, signed out or expired
	CodeEmailNotVerified         Code = "email_not_verified"        // 403: right password, but the email is not confirmed yet
	CodePhoneNotVerified         Code = "phone_not_verified"        // 403: right password, but the phone is not confirmed yet
	CodeWrongPassword            Code = "wrong_password"            // 403: the current password given to change-pwd or change-email is wrong
	CodeFeatureDisabled          Code = "feature_disabled"          // 403: the app turned this flow off
	CodeOriginNotAllowed         Code = "origin_not_allowed"        // 403: a cookie-authenticated request from a foreign origin
	CodeUserDisabled             Code = "user_disabled"             // 403: the account was disabled by the app; told only after the right password, link or code
	CodeMFARequired              Code = "mfa_required"              // 401: the first factor was right, and the account has a second: details.ticket goes to mfa/verify with a code
	CodeMFANotEnrolled           Code = "mfa_not_enrolled"          // 409: the account has no second factor to confirm, remove or check (or none pending)
	CodeMFAEnrolled              Code = "mfa_enrolled"              // 409: the account has an active authenticator already
	CodeMFAStepUpRequired        Code = "mfa_step_up_required"      // 403: the session must prove a second factor (recently) first: mfa/step-up; details.enrolled, details.maxAge
	CodeReauthenticationRequired Code = "reauthentication_required" // 403: adding a user's first second factor needs a session signed in within details.maxAge seconds: sign in again
	CodeInvalidPasskey           Code = "invalid_passkey"           // 400: a passkey's answer that fails verification, or whose ceremony handle is spent, expired or unknown
	CodePasskeyNotFound          Code = "passkey_not_found"         // 404: the caller has no passkey with that id
	CodeForbidden                Code = "forbidden"                 // 403: the session's user is in none of the access groups the route requires (Kit.RequireAccessGroup)
	CodeNotFound                 Code = "not_found"                 // 404: no such route
	CodeSessionNotFound          Code = "session_not_found"         // 404: signOut named no session of the caller's
	CodeUserNotFound             Code = "user_not_found"            // 404: the Go API named no such user (never answered over HTTP)
	CodeMethodNotAllowed         Code = "method_not_allowed"        // 405
	CodeEmailTaken               Code = "email_taken"               // 409: another account has this email
	CodePhoneTaken               Code = "phone_taken"               // 409: another account has this phone number
	CodeRequestTooLarge          Code = "request_too_large"         // 413: the body passed the size cap
	CodeUnsupportedMediaType     Code = "unsupported_media_type"    // 415: a body that is not application/json
	CodeTooManyRequests          Code = "too_many_requests"         // 429: an abuse limit was passed (Config.Limits); Retry-After says when to try again
	CodeInternal                 Code = "internal_error"            // 500: the kit or a store failed; details are logged, not sent
	CodeSMSFailed                Code = "sms_failed"                // 502: the SMS provider did not take a text the caller waits for
	CodeUnavailable              Code = "service_unavailable"       // 503: the request gave up waiting: for a hashing slot, for the store (Config.StoreTimeout) or for a limiter that is down (Config.LimiterDown)

	// OAuth sign-in ends at the Redirect URL, so these travel as its
	// status and error query parameters, never in a JSON body.
	CodeInvalidState          Code = "invalid_state"           // 400: the state is missing, not this browser's, spent or expired
	CodeAccessDenied          Code = "access_denied"           // 403: the user declined at the provider
	CodeProviderNotConfigured Code = "provider_not_configured" // 404: the app offers no sign-in with that provider
	CodeAccountExists         Code = "account_exists"          // 409: another account has the provider's email (never linked on the email alone)
	CodeOAuthFailed           Code = "oauth_failed"            // 502: the provider's answer was unusable: failed exchange, bad id_token, user API error
)

// codeStatus maps each code to its HTTP status: the one table of it.
var codeStatus = map[Code]int{
	CodeBadRequest:               http.StatusBadRequest,
	CodeInvalidEmail:             http.StatusBadRequest,
	CodeInvalidUserData:          http.StatusBadRequest,
	CodeInvalidName:              http.StatusBadRequest,
	CodePasswordTooShort:         http.StatusBadRequest,
	CodePasswordTooLong:          http.StatusBadRequest,
	CodePasswordTooCommon:        http.StatusBadRequest,
	CodeInvalidToken:             http.StatusBadRequest,
	CodeEmailUnchanged:           http.StatusBadRequest,
	CodeInvalidPhone:             http.StatusBadRequest,
	CodeInvalidCode:              http.StatusBadRequest,
	CodePhoneUnchanged:           http.StatusBadRequest,
	CodeInvalidCredentials:       http.StatusUnauthorized,
	CodeMissingSessionToken:      http.StatusUnauthorized,
	CodeInvalidSessionToken:      http.StatusUnauthorized,
	CodeEmailNotVerified:         http.StatusForbidden,
	CodePhoneNotVerified:         http.StatusForbidden,
	CodeWrongPassword:            http.StatusForbidden,
	CodeFeatureDisabled:          http.StatusForbidden,
	CodeOriginNotAllowed:         http.StatusForbidden,
	CodeUserDisabled:             http.StatusForbidden,
	CodeMFARequired:              http.StatusUnauthorized,
	CodeMFANotEnrolled:           http.StatusConflict,
	CodeMFAEnrolled:              http.StatusConflict,
	CodeMFAStepUpRequired:        http.StatusForbidden,
	CodeReauthenticationRequired: http.StatusForbidden,
	CodeInvalidPasskey:           http.StatusBadRequest,
	CodePasskeyNotFound:          http.StatusNotFound,
	CodeForbidden:                http.StatusForbidden,
	CodeNotFound:                 http.StatusNotFound,
	CodeSessionNotFound:          http.StatusNotFound,
	CodeUserNotFound:             http.StatusNotFound,
	CodeMethodNotAllowed:         http.StatusMethodNotAllowed,
	CodeEmailTaken:               http.StatusConflict,
	CodePhoneTaken:               http.StatusConflict,
	CodeRequestTooLarge:          http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType:     http.StatusUnsupportedMediaType,
	CodeTooManyRequests:          http.StatusTooManyRequests,
	CodeInternal:                 http.StatusInternalServerError,
	CodeSMSFailed:                http.StatusBadGateway,
	CodeUnavailable:              http.StatusServiceUnavailable,

	CodeInvalidState:          http.StatusBadRequest,
	CodeAccessDenied:          http.StatusForbidden,
	CodeProviderNotConfigured: http.StatusNotFound,
	CodeAccountExists:         http.StatusConflict,
	CodeOAuthFailed:           http.StatusBadGateway,
}

// HTTPStatus is the HTTP status e is answered with: its code's, or for a
// code of the app's own, Status when it is a 4xx, else 403.
func (e *Error) HTTPStatus() int {
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	if e.Status >= 400 && e.Status < 500 {
		return e.Status
	}
	return http.StatusForbidden
}

// Status is the HTTP status the code is answered with.
func (c Code) Status() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is the one error type of the kit's flows. Code and Message reach the
// client; Err, the cause, is only logged.
//
// A hook refuses a flow with an Error of the app's own making, such as
// &Error{Code: "invite_only", Message: "Sign-up is by invitation."}: it
// is answered with Status, or 403 when Status is not a 4xx. A code of the
// kit's always has its own status.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	Err     error
	// Status is the HTTP status of a Code that is not one of the kit's:
	// 400 to 499, else 403.
	Status int
	// RetryAfter, on a too_many_requests or service_unavailable Error, is
	// how long to wait; it is answered as Retry-After, in whole seconds
	// rounded up (at least 1).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func newError(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// internalError wraps a failure the client must not see the text of. A
// failure that is already a service_unavailable answer (a store call past
// Config.StoreTimeout, a limiter that is down) stays one.
func internalError(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok && e.Code == CodeUnavailable {
		return e
	}
	return &Error{Code: CodeInternal, Message: "Something went wrong on our side.", Err: err}
}

package wecom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Reason codes of the errors this package returns. A caller that keeps or shows why a
// send failed stores the code and Error's redacted message, never a raw transport
// error (those carry the request URL, and WeCom puts secrets in the query).
const (
	ReasonUnreachable = "wecom_unreachable" // certainly not delivered: DNS, refused, 429/502/503/504
	ReasonTimeout     = "wecom_timeout"     // no answer in time: outcome unknown for a send
	ReasonTransport   = "wecom_transport"   // connection broke mid-request: outcome unknown for a send
	ReasonBadAnswer   = "wecom_bad_answer"  // WeCom's answer was not the JSON expected
	ReasonHTTPStatus  = "wecom_http_status" // an HTTP status WeCom does not use for API errors
	ReasonNoToken     = "wecom_no_token"    // gettoken answered without a token
	ReasonAPI         = "wecom_api"         // WeCom answered with a non-zero errcode (Msg has it)
	ReasonRateLimited = "wecom_rate_limited"
	ReasonRequest     = "wecom_request" // the request could not be built or was cancelled
)

// Error is every error the client and the robot return: a reason code and a message
// from which every secret (corp secret, access token, robot key) has been removed. It
// still matches ErrNotDelivered, ErrToken and *APIError with errors.Is / errors.As.
type Error struct {
	Code string
	Msg  string
	errs []error // sentinels and *APIError; never a transport error
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Msg }

// Unwrap exposes the sentinels (ErrNotDelivered, ErrToken) and the *APIError.
func (e *Error) Unwrap() []error { return e.errs }

// ReasonCode returns err's reason code when it is (or wraps) an *Error, else "".
func ReasonCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// secretParam matches the value of every query parameter WeCom uses for a secret.
var secretParam = regexp.MustCompile(`(?i)\b(corpsecret|access_token|key|secret|token|signature|msg_signature)=[^&\s"'<>]*`)

// Scrub removes secret-bearing query values from s (corpsecret=…, access_token=…,
// key=… of any URL in it). Callers that store or show text that may have come from a
// channel run it through Scrub as well.
func Scrub(s string) string {
	return secretParam.ReplaceAllString(s, "${1}=REDACTED")
}

// redactor knows the literal secrets of one client and removes them from text.
type redactor struct {
	mu      sync.Mutex
	secrets []string
}

func (r *redactor) add(s string) {
	if len(s) < 4 {
		return // too short to scrub without destroying ordinary words
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.secrets {
		if x == s {
			return
		}
	}
	if len(r.secrets) >= 64 { // old access tokens: keep the newest
		r.secrets = append(r.secrets[:0], r.secrets[len(r.secrets)-63:]...)
	}
	r.secrets = append(r.secrets, s)
	for _, v := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		if v != s {
			r.secrets = append(r.secrets, v)
		}
	}
}

func (r *redactor) scrub(s string) string {
	s = Scrub(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.secrets {
		s = strings.ReplaceAll(s, x, "REDACTED")
	}
	return s
}

// transportError turns an error of the HTTP client (which embeds the full request URL)
// into an *Error that names only the API path and the kind of failure.
func (r *redactor) transportError(path string, err error) *Error {
	var ue *url.Error
	inner := err
	if errors.As(err, &ue) {
		inner = ue.Err // drop the URL
	}
	msg := r.scrub(fmt.Sprintf("%s: %v", path, inner))
	var ne net.Error
	switch {
	case notDelivered(err):
		return &Error{Code: ReasonUnreachable, Msg: msg, errs: []error{ErrNotDelivered}}
	case errors.Is(err, context.Canceled):
		return &Error{Code: ReasonRequest, Msg: msg, errs: contextErrs(err)}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &Error{Code: ReasonTimeout, Msg: msg, errs: contextErrs(err)}
	}
	return &Error{Code: ReasonTransport, Msg: msg}
}

// wrap prefixes an *Error's message with the operation; other errors (which this
// package never produces unredacted) are scrubbed into a ReasonRequest.
func (r *redactor) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		out := *e
		out.Msg = op + ": " + e.Msg
		return &out
	}
	return &Error{Code: ReasonRequest, Msg: r.scrub(op + ": " + err.Error()), errs: contextErrs(err)}
}

// contextErrs keeps a cancellation or deadline matchable (they carry no secret).
func contextErrs(err error) []error {
	for _, c := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, c) {
			return []error{c}
		}
	}
	return nil
}

// redactingLogger is the retrying HTTP client's logger: every value is scrubbed
// before it reaches slog (the client logs request URLs and transport errors).
type redactingLogger struct {
	l *slog.Logger
	r *redactor
}

func (l redactingLogger) args(kv []any) []any {
	out := make([]any, len(kv))
	for i, v := range kv {
		switch x := v.(type) {
		case string:
			out[i] = l.r.scrub(x)
		case error:
			out[i] = l.r.scrub(x.Error())
		case fmt.Stringer:
			out[i] = l.r.scrub(x.String())
		case int, int64, bool, float64:
			out[i] = x
		default:
			out[i] = l.r.scrub(fmt.Sprint(x))
		}
	}
	return out
}

func (l redactingLogger) Error(msg string, kv ...any) { l.l.Error(msg, l.args(kv)...) }
func (l redactingLogger) Info(msg string, kv ...any)  { l.l.Info(msg, l.args(kv)...) }
func (l redactingLogger) Debug(msg string, kv ...any) { l.l.Debug(msg, l.args(kv)...) }
func (l redactingLogger) Warn(msg string, kv ...any)  { l.l.Warn(msg, l.args(kv)...) }

package devices

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/pharmachain/counter/flows/customerkey"
)

// Kind is the classification of a scanned code.
type Kind string

// The kinds of code a counter scanner or card reader delivers (see docs/devices.md).
const (
	KindIDNumber    Kind = "id_number"
	KindInsuranceQR Kind = "insurance_qr"
	KindGTIN        Kind = "gtin"
	KindTraceCode   Kind = "trace_code"
	KindGS1         Kind = "gs1"
	KindStaffBadge  Kind = "staff_badge"
	KindUnknown     Kind = "unknown"
)

// DefaultStaffPrefix is the staff badge prefix used when Classifier.StaffPrefix is empty.
const DefaultStaffPrefix = "STAFF-"

// DefaultInsurancePattern matches the demo insurance QR tokens served by DemoGatewayHandler
// ("YB" + 16 to 256 letters, digits, '-' or '_'). No public specification gives the format of
// 医保电子凭证 payloads: installers configure the pattern of their province's platform.
const DefaultInsurancePattern = `^YB[0-9A-Za-z_-]{16,256}$`

// defaultInsuranceRE is DefaultInsurancePattern compiled (read-only).
var defaultInsuranceRE = regexp.MustCompile(DefaultInsurancePattern)

// Scan is a classified frame. It never holds a raw ID number; an insurance token is kept in an
// unexported field that is not marshalled, printed or logged.
type Scan struct {
	Kind        Kind      `json:"kind"`
	Valid       bool      `json:"valid"`
	Symbology   string    `json:"symbology,omitempty"` // e.g. "EAN-13", from the AIM prefix
	AIM         string    `json:"aim,omitempty"`       // the raw AIM identifier, e.g. "]E0"
	Masked      string    `json:"masked,omitempty"`    // id_number: 1101**********002X
	CustomerKey string    `json:"customer_key,omitempty"`
	Code        string    `json:"code,omitempty"`    // gtin, trace_code; GTIN for gs1
	DrugID      string    `json:"drug_id,omitempty"` // trace_code: first 7 digits
	GTIN        string    `json:"gtin,omitempty"`    // gs1
	Batch       string    `json:"batch,omitempty"`   // gs1 AI 10
	Expiry      string    `json:"expiry,omitempty"`  // gs1 AI 17 as YYYY-MM-DD
	Serial      string    `json:"serial,omitempty"`  // gs1 AI 21
	StaffID     string    `json:"staff_id,omitempty"`
	Error       string    `json:"error,omitempty"`   // English, for logs and scan-test
	Problem     *Problem  `json:"problem,omitempty"` // the same as a code for the UI's language
	At          time.Time `json:"at"`

	token *secretToken // insurance_qr only
}

// secretToken hides an insurance token from fmt and reflection-based printers.
type secretToken struct{ v string }

func (*secretToken) String() string   { return "[redacted]" }
func (*secretToken) GoString() string { return "[redacted]" }

// HasToken reports whether the scan still carries an unresolved insurance token.
func (s Scan) HasToken() bool { return s.token != nil && s.token.v != "" }

// String is a log-safe one-line summary (no raw ID, no token).
func (s Scan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s valid=%t", s.Kind, s.Valid)
	for _, kv := range [][2]string{{"symbology", s.Symbology}, {"masked", s.Masked}, {"customer_key", s.CustomerKey},
		{"code", s.Code}, {"batch", s.Batch}, {"expiry", s.Expiry}, {"serial", s.Serial}, {"staff_id", s.StaffID}, {"error", s.Error}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	return b.String()
}

// GoString is the same as String, so %#v cannot leak the token either.
func (s Scan) GoString() string { return "devices.Scan{" + s.String() + "}" }

// LogValue makes slog print the safe fields only.
func (s Scan) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("kind", string(s.Kind)), slog.Bool("valid", s.Valid)}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("symbology", s.Symbology)
	add("masked", s.Masked)
	add("customer_key", s.CustomerKey)
	add("code", s.Code)
	add("staff_id", s.StaffID)
	add("error", s.Error)
	return slog.GroupValue(attrs...)
}

// MarshalJSON is the default struct encoding; it exists to document that the token is never
// part of it (the field is unexported).
func (s Scan) MarshalJSON() ([]byte, error) {
	type plain Scan
	p := plain(s)
	p.token = nil
	return json.Marshal(p)
}

// Classifier turns frames into scans. The zero value is not useful: set Secret. It is safe for
// concurrent use once configured.
type Classifier struct {
	Secret           []byte           // chain secret for customer keys (LoadSecret)
	StaffPrefix      string           // default DefaultStaffPrefix
	InsurancePattern *regexp.Regexp   // nil means DefaultInsurancePattern
	Now              func() time.Time // default time.Now (birth dates must not be in the future)
}

func (c *Classifier) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Classify classifies one frame. Rejected frames become KindUnknown scans with the error.
// The order is: staff badge, GS1, insurance QR, ID number, trace code, GTIN, unknown.
func (c *Classifier) Classify(f Frame) Scan {
	s := Scan{Kind: KindUnknown, AIM: f.AIM, Symbology: SymbologyName(f.AIM), At: f.At}
	if s.At.IsZero() {
		s.At = c.now()
	}
	if f.Err != nil {
		s.fail(f.Err)
		return s
	}
	text := strings.TrimSpace(f.Text)
	if text == "" {
		s.fail(problem("scan.empty", nil, "empty code"))
		return s
	}
	prefix := c.StaffPrefix
	if prefix == "" {
		prefix = DefaultStaffPrefix
	}
	if strings.HasPrefix(text, prefix) {
		s.Kind = KindStaffBadge
		id := strings.TrimPrefix(text, prefix)
		if id == "" || strings.ContainsFunc(id, func(r rune) bool { return r == GS || unicode.IsSpace(r) }) {
			s.fail(problem("staff.no_id", nil, "staff badge has no valid staff id after the prefix"))
			return s
		}
		s.StaffID, s.Valid = id, true
		return s
	}
	if looksGS1(f.AIM, text) {
		s.Kind = KindGS1
		e, err := ParseGS1(text)
		if err != nil {
			s.fail(err)
			return s
		}
		s.Valid, s.GTIN, s.Code, s.Batch, s.Expiry, s.Serial = true, e.GTIN, e.GTIN, e.Batch, e.Expiry, e.Serial
		return s
	}
	pat := c.InsurancePattern
	if pat == nil {
		pat = defaultInsuranceRE
	}
	if pat.MatchString(text) {
		s.Kind, s.Valid, s.token = KindInsuranceQR, true, &secretToken{v: text}
		return s
	}
	if isIDShape(text) {
		s.Kind = KindIDNumber
		s.Masked = customerkey.Mask(text)
		id, err := NormaliseIDNumber(text, c.now())
		if err != nil {
			s.fail(err)
			return s
		}
		if len(c.Secret) == 0 {
			s.fail(problem("scan.no_secret", nil, "no chain secret configured: cannot compute the customer key"))
			return s
		}
		s.Masked, s.CustomerKey, s.Valid = customerkey.Mask(id), customerkey.Hash(c.Secret, id).String(), true
		return s
	}
	if allDigits(text) {
		switch len(text) {
		case 20:
			s.Kind, s.Valid, s.Code, s.DrugID = KindTraceCode, true, text, text[:7]
			return s
		case 8, 12, 13, 14:
			s.Kind, s.Code = KindGTIN, text
			if err := ValidGTIN(text); err != nil {
				s.fail(err)
				return s
			}
			s.Valid = true
			return s
		}
	}
	s.fail(describeUnknown(text))
	return s
}

// fail records why the scan is invalid: the English text and, when err carries one, the
// Problem.
func (s *Scan) fail(err error) {
	s.Error = err.Error()
	s.Problem, _ = ProblemOf(err)
}

// describeUnknown says what an unrecognised code looks like without repeating it (it might be
// a token or an ID number in an unexpected form).
func describeUnknown(text string) *Problem {
	n := len([]rune(text))
	switch {
	case allDigits(text):
		return problem("unknown.digits", kv("N", n), "unrecognised code: %d digits (not an ID number, GTIN-8/12/13/14 or 20-digit trace code)", n)
	default:
		return problem("unknown.chars", kv("N", n), "unrecognised code: %d characters", n)
	}
}

// ID-number-like: 17 digits and a digit or X/x, or 18 characters mostly digits (so a mistyped
// number is reported as an invalid ID rather than echoed as unknown).
func isIDShape(s string) bool {
	if len(s) != 18 {
		return false
	}
	digits := 0
	for i := 0; i < 18; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	last := s[17]
	return digits >= 17 || (digits == 17 && (last == 'x' || last == 'X'))
}

func looksGS1(aim, text string) bool {
	switch aim {
	case "]d2", "]C1", "]Q3", "]e0", "]J1":
		return true
	}
	if strings.HasPrefix(text, "(01)") {
		return true
	}
	t := strings.TrimLeft(text, "\x1d")
	return strings.HasPrefix(t, "01") && (len(t) >= 16 || strings.IndexByte(t, GS) >= 0) && !allDigitsLen(t, 18) && !allDigitsLen(t, 20)
}

func allDigitsLen(s string, n int) bool { return len(s) == n && allDigits(s) }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var aimNames = map[string]string{
	"]E0": "EAN-13", "]E4": "EAN-8", "]E3": "EAN-13+add-on", "]C0": "Code 128", "]C1": "GS1-128",
	"]d1": "DataMatrix", "]d2": "GS1 DataMatrix", "]Q1": "QR", "]Q3": "GS1 QR", "]Q0": "QR",
	"]Q2": "QR", "]Q4": "QR", "]Q5": "GS1 QR", "]e0": "GS1 DataBar", "]A0": "Code 39",
	"]I0": "ITF", "]I1": "ITF", "]L2": "PDF417", "]X0": "other", "]F0": "Codabar", "]G0": "Code 93",
}

// SymbologyName returns a readable name for an AIM symbology identifier, the identifier itself
// when it is not known, or "" for no identifier.
func SymbologyName(aim string) string {
	if aim == "" {
		return ""
	}
	if n, ok := aimNames[aim]; ok {
		return n
	}
	return aim
}

// ErrClassify is returned by helpers that need a valid scan of a certain kind.
const ErrClassify = sentinel("scan is not of the expected kind")

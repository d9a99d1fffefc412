package devices

import (
	"errors"
	"fmt"
)

// Problem is why a code, an ID number or a frame was rejected, as a stable code with
// parameters, so that the UI says it in its own language: the kiosk renders
// "devices."+Code through its translations with Args (assets/data/translations). Error()
// is the English sentence for logs and the command line. Problems never quote the code
// that was scanned (it may be an ID number or a token).
type Problem struct {
	Code string         `json:"code"`           // e.g. "id.length"
	Args map[string]any `json:"args,omitempty"` // e.g. {"Want": 18, "Got": 17}

	msg string // English
	is  error  // the sentinel errors.Is matches (ErrFrameTooLong …), if any
}

// Error is the English message.
func (p *Problem) Error() string { return p.msg }

// Unwrap returns the sentinel error the problem belongs to (nil if none).
func (p *Problem) Unwrap() error { return p.is }

// ProblemOf returns the Problem in err's chain.
func ProblemOf(err error) (*Problem, bool) {
	var p *Problem
	if errors.As(err, &p) {
		return p, true
	}
	return nil, false
}

// problem makes a Problem; english is a fmt format applied to argv.
func problem(code string, args map[string]any, english string, argv ...any) *Problem {
	return &Problem{Code: code, Args: args, msg: fmt.Sprintf(english, argv...)}
}

// kv builds a Problem's Args from name, value pairs.
func kv(pairs ...any) map[string]any {
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// ProblemCodes lists every Problem code devices produces (the kiosk's translation test
// checks that each has a translation).
func ProblemCodes() []string {
	return []string{
		"frame.too_long", "frame.control", "frame.encoding", "frame.empty",
		"scan.empty", "scan.no_secret", "staff.no_id", "unknown.digits", "unknown.chars",
		"id.length", "id.digit", "id.last_char", "id.region", "id.birth_year", "id.birth_month",
		"id.birth_day", "id.birth_future", "id.check",
		"gtin.length", "gtin.digit", "gtin.check",
		"gs1.ai_malformed", "gs1.ai_length", "gs1.ai_max", "gs1.no_gtin", "gs1.paren_expected",
		"gs1.paren_unclosed", "gs1.ai_unsupported", "gs1.ai_wrong_length", "gs1.ai_invalid",
		"date.format", "date.month", "date.day",
		"insurance.unresolved",
		"device.absent", "device.open", "device.unplugged",
	}
}

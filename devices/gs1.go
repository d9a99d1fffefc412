package devices

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// GS is the ASCII group separator (FNC1) between variable-length GS1 element strings.
const GS = 0x1D

// GS1CheckDigit returns the GS1 mod-10 check digit for the data digits of a GTIN (all but the
// check digit).
func GS1CheckDigit(data string) (byte, error) {
	s := 0
	for i := 0; i < len(data); i++ {
		c := data[len(data)-1-i]
		if c < '0' || c > '9' {
			return 0, problem("gtin.digit", kv("Pos", len(data)-i), "character %d is not a digit", len(data)-i)
		}
		w := 1
		if i%2 == 0 {
			w = 3
		}
		s += int(c-'0') * w
	}
	return byte('0' + (10-s%10)%10), nil
}

// ValidGTIN reports whether s is a GTIN-8, -12, -13 or -14 with a correct check digit. The
// error says what is wrong.
func ValidGTIN(s string) error {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return problem("gtin.length", kv("Got", len(s)), "GTIN must have 8, 12, 13 or 14 digits, got %d", len(s))
	}
	want, err := GS1CheckDigit(s[:len(s)-1])
	if err != nil {
		return &Problem{Code: "gtin.digit", Args: err.(*Problem).Args, msg: "GTIN: " + err.Error()}
	}
	if got := s[len(s)-1]; got != want {
		return problem("gtin.check", kv("Got", string(got), "Want", string(want)), "GTIN check digit is %c, expected %c", got, want)
	}
	return nil
}

// GS1Element is the parsed content of a GS1 element string.
type GS1Element struct {
	GTIN   string // AI 01, 14 digits
	Expiry string // AI 17 as an ISO date (YYYY-MM-DD); day 00 means the last day of the month
	Batch  string // AI 10
	Serial string // AI 21
}

// gs1AIs lists the AIs understood: fixed data length, or -max for variable length ending at GS.
var gs1AIs = map[string]int{
	"00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2,
	"10": -20, "21": -20, "22": -20, "30": -8, "37": -8, "240": -30, "241": -30, "250": -30,
	"251": -30, "400": -30, "7003": 10,
}

var errNotGS1 = errors.New("not a GS1 element string")

// ParseGS1 parses a GS1 element string such as "01069012345678921726053110ABC\x1d21XYZ"
// (a leading GS/FNC1 is allowed) or the human-readable form "(01)06901234567892(17)260531".
// It requires AI 01 with a valid check digit, and a real date in AI 17.
func ParseGS1(s string) (GS1Element, error) {
	var e GS1Element
	if strings.HasPrefix(s, "(") {
		return parseGS1Paren(s)
	}
	s = strings.TrimLeft(s, "\x1d")
	if s == "" {
		return e, errNotGS1
	}
	for len(s) > 0 {
		ai, n, ok := lookupAI(s)
		if !ok {
			return e, problem("gs1.ai_malformed", kv("At", prefix(s, 4)), "GS1: unsupported or malformed application identifier at %q", prefix(s, 4))
		}
		s = s[len(ai):]
		var val string
		if n > 0 {
			if len(s) < n {
				return e, problem("gs1.ai_length", kv("AI", ai, "Want", n, "Got", len(s)), "GS1: AI (%s) needs %d characters, got %d", ai, n, len(s))
			}
			val, s = s[:n], s[n:]
			s = strings.TrimPrefix(s, "\x1d")
		} else {
			end := strings.IndexByte(s, GS)
			if end < 0 {
				end = len(s)
			}
			val = s[:end]
			s = s[end:]
			s = strings.TrimPrefix(s, "\x1d")
			if len(val) == 0 || len(val) > -n {
				return e, problem("gs1.ai_max", kv("AI", ai, "Max", -n, "Got", len(val)), "GS1: AI (%s) needs 1 to %d characters, got %d", ai, -n, len(val))
			}
		}
		if err := e.set(ai, val); err != nil {
			return e, err
		}
	}
	if e.GTIN == "" {
		return e, problem("gs1.no_gtin", nil, "GS1: no GTIN (AI 01)")
	}
	return e, nil
}

func parseGS1Paren(s string) (GS1Element, error) {
	var e GS1Element
	for len(s) > 0 {
		if s[0] != '(' {
			return e, problem("gs1.paren_expected", nil, "GS1: expected '(' before an application identifier")
		}
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return e, problem("gs1.paren_unclosed", nil, "GS1: unclosed '('")
		}
		ai := s[1:end]
		n, ok := gs1AIs[ai]
		if !ok {
			return e, problem("gs1.ai_unsupported", kv("AI", prefix(ai, 4)), "GS1: unsupported application identifier (%s)", prefix(ai, 4))
		}
		s = s[end+1:]
		next := strings.IndexByte(s, '(')
		if next < 0 {
			next = len(s)
		}
		val := s[:next]
		s = s[next:]
		if (n > 0 && len(val) != n) || (n < 0 && (len(val) == 0 || len(val) > -n)) {
			return e, problem("gs1.ai_wrong_length", kv("AI", ai, "Got", len(val)), "GS1: AI (%s) has %d characters, which is the wrong length", ai, len(val))
		}
		if err := e.set(ai, val); err != nil {
			return e, err
		}
	}
	if e.GTIN == "" {
		return e, problem("gs1.no_gtin", nil, "GS1: no GTIN (AI 01)")
	}
	return e, nil
}

func (e *GS1Element) set(ai, val string) error {
	switch ai {
	case "01", "02":
		if err := ValidGTIN(val); err != nil {
			return inAI(ai, "GS1 AI ("+ai+"): ", err)
		}
		if ai == "01" {
			e.GTIN = val
		}
	case "17":
		d, err := gs1Date(val)
		if err != nil {
			return inAI(ai, "GS1 expiry (17): ", err)
		}
		e.Expiry = d
	case "10":
		e.Batch = val
	case "21":
		e.Serial = val
	case "11", "12", "13", "15", "16":
		if _, err := gs1Date(val); err != nil {
			return inAI(ai, "GS1 date ("+ai+"): ", err)
		}
	}
	return nil
}

// gs1Date turns YYMMDD (DD may be 00: last day of the month) into YYYY-MM-DD.
func gs1Date(v string) (string, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return "", problem("date.format", nil, "date must be 6 digits YYMMDD")
		}
	}
	y, m, d := 2000+atoi(v[0:2]), atoi(v[2:4]), atoi(v[4:6])
	if m < 1 || m > 12 {
		return "", problem("date.month", kv("Month", m), "month %02d does not exist", m)
	}
	last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if d == 0 {
		d = last
	}
	if d > last {
		return "", problem("date.day", kv("Day", d, "Month", m), "day %02d does not exist in month %02d", d, m)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), nil
}

// inAI is a value problem inside AI ai: "gs1.ai_invalid" {AI, Code, Args} — the UI renders
// the inner problem (Code, Args) and names the AI.
func inAI(ai, english string, err error) error {
	p, ok := ProblemOf(err)
	if !ok {
		return fmt.Errorf("%s%w", english, err)
	}
	return &Problem{Code: "gs1.ai_invalid", Args: kv("AI", ai, "Code", p.Code, "Args", p.Args), msg: english + p.Error()}
}

func lookupAI(s string) (string, int, bool) {
	for l := 2; l <= 4 && l <= len(s); l++ {
		if n, ok := gs1AIs[s[:l]]; ok {
			return s[:l], n, true
		}
	}
	return "", 0, false
}

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// atoi converts a string of ASCII digits (already checked) to an int.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzFramer feeds arbitrary bytes, split at an arbitrary point and with an arbitrary pause,
// and checks the framer's invariants: no panic, every frame is either text or an error,
// text is valid UTF-8 without control bytes (except GS) and within the limit, and no input
// byte other than terminators is lost (accepted + rejected lengths add up).
func FuzzFramer(f *testing.F) {
	f.Add([]byte("6901234567892\r\n"), uint16(3), uint16(10))
	f.Add([]byte("]d201069012345678921726053110A\x1d21B\r"), uint16(5), uint16(60))
	f.Add([]byte("ab\x00cd\rok\xff\xfe\n"), uint16(0), uint16(0))
	f.Add([]byte("\xd5\xc5\xc8\xfd\r\n"), uint16(1), uint16(100))
	f.Add(bytes.Repeat([]byte("9"), 5000), uint16(4000), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, split, pauseMS uint16) {
		fr := NewFramer(FramerConfig{MaxFrame: 256})
		t0 := time.Unix(1700000000, 0)
		cut := int(split) % (len(data) + 1)
		frames := fr.Feed(data[:cut], t0)
		t1 := t0.Add(time.Duration(pauseMS) * time.Millisecond)
		frames = append(frames, fr.Feed(data[cut:], t1)...)
		if last, ok := fr.FlushAll(t1.Add(time.Second)); ok {
			frames = append(frames, last)
		}
		if _, pending := fr.Deadline(); pending {
			t.Fatal("partial frame left after FlushAll")
		}
		total := 0
		for _, f := range frames {
			total += f.Len
			if f.Err != nil {
				if f.Text != "" {
					t.Fatalf("rejected frame with text %q", f.Text)
				}
				if !errors.Is(f.Err, ErrFrameTooLong) && !errors.Is(f.Err, ErrControlBytes) && !errors.Is(f.Err, ErrBadEncoding) {
					t.Fatalf("unexpected error %v", f.Err)
				}
				continue
			}
			if f.Len == 0 || f.Len > 256 {
				t.Fatalf("frame length %d", f.Len)
			}
			if !utf8.ValidString(f.Text) {
				t.Fatalf("invalid UTF-8 %q", f.Text)
			}
			for _, r := range f.Text {
				if (r < 0x20 && r != GS) || r == 0x7F {
					t.Fatalf("control character %U in %q", r, f.Text)
				}
			}
		}
		want := len(data) - bytes.Count(data, []byte{'\r'}) - bytes.Count(data, []byte{'\n'})
		if total != want {
			t.Fatalf("frames account for %d bytes, input has %d non-terminator bytes", total, want)
		}
	})
}

// FuzzClassify checks that classification never panics, is consistent (valid scans carry what
// their kind needs, invalid ones say why), and never reveals the input through JSON or fmt
// when the input is an ID-number-like or insurance-token-like string.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "110105194912310021", "6901234567892",
		"96385074", "81234560123456789012", "]d20106901234567892172605311" + "0A\x1d21B", "(01)06901234567892(17)260531",
		"STAFF-0042", "YBDEMO0000000000000001", "]Q1hello", "", "]E0", "01\x1d", "0100000000000000"} {
		f.Add([]byte(s))
	}
	c := testClassifier()
	f.Fuzz(func(t *testing.T, data []byte) {
		s := c.Classify(MakeFrame(data, testToday))
		switch s.Kind {
		case KindIDNumber, KindInsuranceQR, KindGTIN, KindTraceCode, KindGS1, KindStaffBadge, KindUnknown:
		default:
			t.Fatalf("kind %q", s.Kind)
		}
		if !s.Valid && s.Error == "" {
			t.Fatalf("invalid %s scan without error", s.Kind)
		}
		if s.Valid && s.Error != "" {
			t.Fatalf("valid scan with error %q", s.Error)
		}
		if s.Kind == KindUnknown && s.Valid {
			t.Fatal("valid unknown scan")
		}
		if s.Valid {
			switch s.Kind {
			case KindIDNumber:
				if len(s.CustomerKey) != 32 || strings.Count(s.Masked, "*") != 10 {
					t.Fatalf("id scan %v", s)
				}
			case KindGTIN:
				if ValidGTIN(s.Code) != nil {
					t.Fatalf("valid gtin with bad code %q", s.Code)
				}
			case KindTraceCode:
				if len(s.Code) != 20 || s.DrugID != s.Code[:7] {
					t.Fatalf("trace %v", s)
				}
			case KindGS1:
				if ValidGTIN(s.GTIN) != nil {
					t.Fatalf("gs1 with bad GTIN %v", s)
				}
			case KindInsuranceQR:
				if !s.HasToken() {
					t.Fatal("insurance scan without token")
				}
			}
		}
		if s.Kind == KindIDNumber || s.Kind == KindInsuranceQR {
			js, _ := json.Marshal(s)
			text := strings.TrimSpace(MakeFrame(data, testToday).Text)
			for _, out := range []string{string(js), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
				if len(text) >= 8 && strings.Contains(out, text) {
					t.Fatalf("output reveals the raw input %q: %s", text, out)
				}
			}
		}
	})
}

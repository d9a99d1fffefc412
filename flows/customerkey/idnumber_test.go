package customerkey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testToday = time.Date(2025, 6, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// withCheck appends the correct check character to 17 digits.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := IDCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	return first17 + string(c)
}

func TestNormaliseIDNumber(t *testing.T) {
	cases := []struct {
		name, in, want, errHas string
	}{
		{"example 1", "11010519491231002X", "11010519491231002X", ""},
		{"example 2", "440524188001010014", "440524188001010014", ""},
		{"example 3", "34052419800101001X", "34052419800101001X", ""},
		{"example 4", "513101198201130014", "513101198201130014", ""},
		{"lower-case x", "11010519491231002x", "11010519491231002X", ""},
		{"spaces around", "  513101198201130014 ", "513101198201130014", ""},
		{"born today", withCheck(t, "11010520250601001"), withCheck(t, "11010520250601001"), ""},
		{"wrong check digit", "110105194912310021", "", "check character is 1 but the other digits give X"},
		{"wrong check X", "44052418800101001X", "", "check character is X but the other digits give 4"},
		{"swapped digits", "110105194912320021", "", "birth date is not a real date (day 32"},
		{"feb 30", withCheck(t, "11010519900230001"), "", "not a real date (day 30 in month 02)"},
		{"feb 29 non-leap", withCheck(t, "11010519900229001"), "", "day 29 in month 02"},
		{"feb 29 leap", withCheck(t, "11010520000229001"), withCheck(t, "11010520000229001"), ""},
		{"month 13", withCheck(t, "11010519901301001"), "", "(month 13)"},
		{"month 00", withCheck(t, "11010519900001001"), "", "(month 00)"},
		{"day 00", withCheck(t, "11010519900100001"), "", "(day 00 in month 01)"},
		{"tomorrow", withCheck(t, "11010520250602001"), "", "birth date is in the future"},
		{"future year", withCheck(t, "11010520300101001"), "", "in the future"},
		{"implausible year", withCheck(t, "11010517990101001"), "", "birth year 1799 is not plausible"},
		{"too short", "11010519491231002", "", "must be 18 characters, got 17"},
		{"too long", "11010519491231002X1", "", "must be 18 characters, got 19"},
		{"letter inside", "1101051949A231002X", "", "character 11 must be a digit"},
		{"bad last char", "11010519491231002Y", "", "last character must be a digit or X"},
		{"region 0", withCheck(t, "01010519491231002"), "", "region code cannot start with 0"},
		{"empty", "", "", "got 0"},
		{"chinese", "一二三四五六七八九十一二三四五六七八", "", "character 1 must be a digit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormaliseIDNumber(c.in, testToday)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("NormaliseIDNumber(%q) err = %v, want containing %q", c.in, err, c.errHas)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(c.in)) && c.in != "" {
					t.Errorf("error repeats the raw number: %v", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("NormaliseIDNumber(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestMaskAndKey(t *testing.T) {
	if got := Mask("11010519491231002X"); got != "1101**********002X" {
		t.Errorf("MaskID = %q", got)
	}
	if got := Mask("abc"); got != "***" {
		t.Errorf("MaskID short = %q", got)
	}
	secret := []byte("0123456789abcdef-chain-secret")
	k := hashKey(secret, "11010519491231002X")
	// Independent value: printf '11010519491231002X' | openssl dgst -sha256 -hmac '0123456789abcdef-chain-secret'
	const want = "32f2719badad2408d4f694574d04f93c"
	if k != want {
		t.Errorf("CustomerKey = %s, want %s", k, want)
	}
	if hashKey([]byte("another-secret-of-16+"), "11010519491231002X") == k {
		t.Error("customer key does not depend on the secret")
	}
	if hashKey(secret, "440524188001010014") == k {
		t.Error("customer key does not depend on the ID")
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s, err := LoadSecret(write("good", "  correct-horse-battery-staple\n"))
	if err != nil || string(s) != "correct-horse-battery-staple" {
		t.Fatalf("LoadSecret good = %q, %v", s, err)
	}
	for _, c := range []struct{ name, content, has string }{
		{"empty", "", "is empty"},
		{"blank", " \n\t\n", "is empty"},
		{"short", "tooshort\n", "holds 8 bytes"},
	} {
		_, err := LoadSecret(write(c.name, c.content))
		if err == nil || !errors.Is(err, ErrSecretTooShort) || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: err = %v, want ErrSecretTooShort containing %q", c.name, err, c.has)
		}
	}
	if _, err := LoadSecret(filepath.Join(dir, "missing")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// hashKey is Hash as text.
func hashKey(secret []byte, id string) string { return Hash(secret, id).String() }

package customerkey

import (
	"fmt"
	"strings"
	"time"
)

// idWeights are the GB 11643-1999 (ISO 7064 MOD 11-2) weights of the first 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps S mod 11 to the check character.
const idCheckChars = "10X98765432"

// IDCheckChar returns the GB 11643 check character for the first 17 digits of an ID number.
func IDCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("need 17 digits, got %d characters", len(first17))
	}
	s := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("character %d is not a digit", i+1)
		}
		s += int(c-'0') * idWeights[i]
	}
	return idCheckChars[s%11], nil
}

// IDError says why NormaliseIDNumber rejected an ID number: a stable code with
// parameters ("id.length" {Want, Got}, "id.digit" {Pos}, "id.last_char", "id.region",
// "id.birth_year" {Year, Min}, "id.birth_month" {Month}, "id.birth_day" {Day, Month},
// "id.birth_future", "id.check" {Got, Want}) that a UI renders in its own language, and
// the English message. Neither repeats the number.
type IDError struct {
	Code string
	Args map[string]any
	msg  string
}

func (e *IDError) Error() string { return e.msg }

func idError(code string, args map[string]any, format string, a ...any) *IDError {
	return &IDError{Code: code, Args: args, msg: fmt.Sprintf(format, a...)}
}

// earliestBirthYear is the lowest birth year accepted in an ID number.
const earliestBirthYear = 1850

// NormaliseIDNumber checks a resident ID number (居民身份证号码 / 社会保障号码) and returns its
// normalised 18-character form (upper-case X). It accepts surrounding spaces and a lower-case
// x. It checks the length, the digits, a real birth date that is not after today (in today's
// location) and the GB 11643 check character. Error messages say what is wrong without
// repeating the number.
func NormaliseIDNumber(s string, today time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if n := len([]rune(s)); n != 18 {
		return "", idError("id.length", map[string]any{"Want": 18, "Got": n}, "ID number must be 18 characters, got %d", n)
	}
	b := []byte(s)
	for i := 0; i < 17; i++ {
		if b[i] < '0' || b[i] > '9' {
			return "", idError("id.digit", map[string]any{"Pos": i + 1}, "ID number: character %d must be a digit", i+1)
		}
	}
	switch b[17] {
	case 'x':
		b[17] = 'X'
	case 'X', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return "", idError("id.last_char", nil, "ID number: the last character must be a digit or X")
	}
	if b[0] == '0' {
		return "", idError("id.region", nil, "ID number: the region code cannot start with 0")
	}
	if err := checkBirthDate(string(b[6:14]), today); err != nil {
		return "", err
	}
	want, _ := IDCheckChar(string(b[:17]))
	if b[17] != want {
		return "", idError("id.check", map[string]any{"Got": string(b[17]), "Want": string(want)},
			"ID number: check character is %c but the other digits give %c (a digit is mistyped)", b[17], want)
	}
	return string(b), nil
}

func checkBirthDate(yyyymmdd string, today time.Time) error {
	y := atoi(yyyymmdd[0:4])
	m := atoi(yyyymmdd[4:6])
	d := atoi(yyyymmdd[6:8])
	if y < earliestBirthYear {
		return idError("id.birth_year", map[string]any{"Year": y, "Min": earliestBirthYear},
			"ID number: birth year %d is not plausible (before %d)", y, earliestBirthYear)
	}
	if m < 1 || m > 12 {
		return idError("id.birth_month", map[string]any{"Month": m}, "ID number: birth date is not a real date (month %02d)", m)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if d < 1 || t.Month() != time.Month(m) {
		return idError("id.birth_day", map[string]any{"Day": d, "Month": m},
			"ID number: birth date is not a real date (day %02d in month %02d)", d, m)
	}
	ty, tm, td := today.Date()
	if t.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		return idError("id.birth_future", nil, "ID number: birth date is in the future")
	}
	return nil
}

// atoi converts a string of ASCII digits (already checked) to an int.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

package customerkey

import (
	"errors"
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
		return "", fmt.Errorf("ID number must be 18 characters, got %d", n)
	}
	b := []byte(s)
	for i := 0; i < 17; i++ {
		if b[i] < '0' || b[i] > '9' {
			return "", fmt.Errorf("ID number: character %d must be a digit", i+1)
		}
	}
	switch b[17] {
	case 'x':
		b[17] = 'X'
	case 'X', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return "", errors.New("ID number: the last character must be a digit or X")
	}
	if b[0] == '0' {
		return "", errors.New("ID number: the region code cannot start with 0")
	}
	if err := checkBirthDate(string(b[6:14]), today); err != nil {
		return "", err
	}
	want, _ := IDCheckChar(string(b[:17]))
	if b[17] != want {
		return "", fmt.Errorf("ID number: check character is %c but the other digits give %c (a digit is mistyped)", b[17], want)
	}
	return string(b), nil
}

func checkBirthDate(yyyymmdd string, today time.Time) error {
	y := atoi(yyyymmdd[0:4])
	m := atoi(yyyymmdd[4:6])
	d := atoi(yyyymmdd[6:8])
	if y < earliestBirthYear {
		return fmt.Errorf("ID number: birth year %d is not plausible (before %d)", y, earliestBirthYear)
	}
	if m < 1 || m > 12 {
		return fmt.Errorf("ID number: birth date is not a real date (month %02d)", m)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if d < 1 || t.Month() != time.Month(m) {
		return fmt.Errorf("ID number: birth date is not a real date (day %02d in month %02d)", d, m)
	}
	ty, tm, td := today.Date()
	if t.After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		return errors.New("ID number: birth date is in the future")
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

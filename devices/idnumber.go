package devices

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// MinSecretLen is the shortest chain secret LoadSecret accepts, in bytes.
const MinSecretLen = 16

// ErrSecretTooShort is returned (wrapped) by LoadSecret for an empty or short secret file.
var ErrSecretTooShort = errors.New("chain secret too short")

// LoadSecret reads the chain secret file. Surrounding white space (a trailing newline) is
// removed; what remains must be at least MinSecretLen bytes. The secret is identical on every
// kiosk and at HQ, so that customer keys match chain-wide.
func LoadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read chain secret file: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("chain secret file %s is empty: %w (need at least %d bytes, e.g. `head -c 32 /dev/urandom | base64 > %s`)",
			path, ErrSecretTooShort, MinSecretLen, path)
	}
	if len(b) < MinSecretLen {
		return nil, fmt.Errorf("chain secret file %s holds %d bytes: %w (need at least %d)",
			path, len(b), ErrSecretTooShort, MinSecretLen)
	}
	return b, nil
}

// CustomerKey returns the chain-wide customer key of a normalised 18-character ID number:
// the first 32 lower-case hex characters of HMAC-SHA256(secret, id).
func CustomerKey(secret []byte, normalisedID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(normalisedID))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))[:32]
}

// MaskID returns the display form of an ID number: the first 4 and last 4 characters with 10
// asterisks between them (1101**********002X). Strings shorter than 8 characters are masked
// completely.
func MaskID(id string) string {
	r := []rune(id)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + "**********" + string(r[len(r)-4:])
}

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

// DemoSecret returns the demo chain secret used by `make run` and by `kiosk scan-test` without
// --secret-file. It is public: customer keys made with it protect nothing and do not match a
// real chain's HQ. Never deploy it.
func DemoSecret() []byte {
	return []byte("DEMO-ONLY-pharmachain-chain-secret-not-for-production")
}

package devices

import (
	"testing"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
)

var testToday = time.Date(2025, 6, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// withCheck appends the correct check character to 17 digits.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, err := customerkey.IDCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	return first17 + string(c)
}

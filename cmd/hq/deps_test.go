package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDeviceLibraries: the HQ binary links none of the counter's device libraries
// (serial ports, barcode decoding, PTYs); the customer-key hashing it needs comes from
// flows/customerkey.
func TestNoDeviceLibraries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps gave %d packages: %s", len(deps), out)
	}
	found := false
	for _, d := range deps {
		found = found || d == "github.com/pharmachain/counter/flows/customerkey"
		for _, banned := range []string{"github.com/tarm/serial", "github.com/makiuchi-d/gozxing", "github.com/creack/pty",
			"github.com/pharmachain/counter/devices", "fyne.io/fyne/v2", "github.com/pharmachain/counter/kiosk"} {
			if d == banned || strings.HasPrefix(d, banned+"/") && !strings.HasPrefix(d, "github.com/pharmachain/counter/devices/demogateway") {
				t.Errorf("cmd/hq links %s", d)
			}
		}
	}
	if !found {
		t.Error("cmd/hq does not link flows/customerkey: the test looks at the wrong list")
	}
}

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHQInTheKiosk: the production kiosk links no HQ package — no HQ server, storage
// or dashboard; the demo's HQ is built only into cmd/kiosk-demo. Its HQ client
// (sync/hqclient) and outbox drainer (sync/drain) are the kiosk's side of sync.
func TestNoHQInTheKiosk(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	need := map[string]bool{"github.com/pharmachain/counter/sync/hqclient": false,
		"github.com/pharmachain/counter/sync/drain": false, "github.com/pharmachain/counter/kiosk/counter": false}
	for _, d := range deps {
		if _, ok := need[d]; ok {
			need[d] = true
		}
		for _, banned := range []string{"github.com/pharmachain/counter/sync/hq", "github.com/pharmachain/counter/kiosk/demo",
			"github.com/pharmachain/counter/devices/demogateway", "github.com/jackc/pgx", "github.com/prometheus/client_golang"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("cmd/kiosk links %s", d)
			}
		}
	}
	for d, ok := range need {
		if !ok {
			t.Errorf("cmd/kiosk does not link %s: the test looks at the wrong list", d)
		}
	}
}

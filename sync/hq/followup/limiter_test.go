package followup

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/pharmachain/counter/sync/hq/clientip"
)

// TestLinkLimiterEvictsOldClients: when the link limiter's table of clients
// is full, a new client evicts the least recently seen instead of being refused — so a
// flood of addresses cannot lock every customer out — and IPv6 clients are keyed by
// their /64. It fails on the code before the fix (a full table refused every new
// client; IPv6 addresses of one /64 had separate buckets).
func TestLinkLimiterEvictsOldClients(t *testing.T) {
	e := newLinkEnv(t, 3)
	h, err := LinkHandler(LinkConfig{Store: e.st, Signer: testSigner(t), Logger: quiet(), Now: e.clk.Now, Rate: 0.5, Burst: 2,
		Clients: clientip.New(netip.MustParsePrefix("10.0.0.0/8"))})
	if err != nil {
		t.Fatal(err)
	}
	hit := func(client string) int {
		r := httptest.NewRequest("GET", "/f/garbage", nil)
		r.RemoteAddr = "10.0.0.1:5555" // the trusted proxy
		r.Header.Set("X-Forwarded-For", client)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	// A flood from more addresses than the table holds.
	for i := range limiterMaxKeys + 50 {
		hit(fmt.Sprintf("198.18.%d.%d", i/256, i%256))
	}
	if c := hit("203.0.113.7"); c == http.StatusTooManyRequests {
		t.Fatal("a new customer was refused because the limiter's table was full")
	}
	// The limit itself still holds for that customer.
	hit("203.0.113.7")
	if c := hit("203.0.113.7"); c != http.StatusTooManyRequests {
		t.Fatalf("3rd request within the burst of 2: %d, want 429", c)
	}
	// One IPv6 /64 is one client.
	if c := hit("2001:db8:1:2::1"); c == http.StatusTooManyRequests {
		t.Fatalf("first IPv6 request: %d", c)
	}
	hit("2001:db8:1:2::2")
	if c := hit("2001:db8:1:2:ffff::3"); c != http.StatusTooManyRequests {
		t.Fatalf("3rd request from one /64: %d, want 429", c)
	}
	if c := hit("2001:db8:1:3::1"); c == http.StatusTooManyRequests {
		t.Fatal("another /64 limited too")
	}
}

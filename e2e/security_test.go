package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/wire"
)

// TestAuthMatrixEveryRoute: every HQ route × no token, a bad token, another store's
// token, the store's own token and the admin token.
func TestAuthMatrixEveryRoute(t *testing.T) {
	h := startFullHQ(t, "S001", "S002")
	const (
		none = iota
		bad
		other
		own
		admin
	)
	tokens := map[int]string{none: "", bad: "hqs_forged_token", other: h.Tokens["S002"], own: h.Tokens["S001"], admin: h.Admin}
	names := map[int]string{none: "no token", bad: "bad token", other: "other store", own: "own store", admin: "admin"}
	n := 0
	newVisit := func() wire.RecordsRequest {
		n++
		return wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{visitFor(fmt.Sprintf("01AUTHMATRIX%013d", n), "S001", false)}}
	}
	newPurchase := func() wire.PurchasesRequest {
		n++
		return wire.PurchasesRequest{Purchases: []flows.Purchase{{ID: fmt.Sprintf("S001:auth:%d", n), CustomerKey: strings.Repeat("ef", 16),
			StoreID: "S001", SoldAt: time.Now(), DrugCode: "6901234567892", Quantity: 1, DaysSupply: 30}}}
	}
	key := strings.Repeat("ef", 16)
	routes := []struct {
		method, path string
		body         func() any
		want         [5]int // by none, bad, other, own, admin
	}{
		{"POST", wire.PathRecords, func() any { return newVisit() }, [5]int{401, 401, 403, 200, 200}},
		{"POST", wire.PathPurchases, func() any { return newPurchase() }, [5]int{401, 401, 403, 200, 200}},
		// Chain-wide history is the point of HQ: any store's counter may read it.
		{"GET", "/api/v1/customers/" + key + "/history?days=90", nil, [5]int{401, 401, 200, 200, 200}},
		{"GET", wire.PathCompletion + "?store_id=S001&group_by=pharmacist", nil, [5]int{401, 401, 403, 200, 200}},
		{"GET", wire.PathPoints + "?store_id=S001", nil, [5]int{401, 401, 403, 200, 200}},
		{"GET", wire.PathRoster + "?store_id=S001", nil, [5]int{401, 401, 403, 200, 200}},
		{"GET", wire.PathFollowups + "?status=overdue&store_id=S001", nil, [5]int{401, 401, 403, 200, 200}},
		{"GET", wire.PathAudit, nil, [5]int{401, 401, 403, 403, 200}},
	}
	for _, r := range routes {
		for who := none; who <= admin; who++ {
			var body any
			if r.body != nil {
				body = r.body()
			}
			code, b := h.do(t, r.method, r.path, tokens[who], body)
			if code != r.want[who] {
				t.Errorf("%s %s with %s: %d %s, want %d", r.method, r.path, names[who], code, b, r.want[who])
				continue
			}
			if code >= 400 {
				var e wire.ErrorResponse
				if json.Unmarshal(b, &e) != nil || e.Error == "" {
					t.Errorf("%s %s with %s: %d without {\"error\":…}: %s", r.method, r.path, names[who], code, b)
				}
			}
		}
	}
	// Open route: health for load balancers. /metrics needs an admin token (or the
	// metrics token; without a token only on the private --metrics-addr).
	for _, c := range []struct {
		path, tok string
		want      int
	}{{"/healthz", "", 200}, {"/metrics", "", 401}, {"/metrics", h.Tokens["S001"], 403}, {"/metrics", h.Admin, 200}} {
		code, b := h.do(t, "GET", c.path, c.tok, nil)
		if code != c.want {
			t.Errorf("GET %s with %q: %d, want %d", c.path, c.tok, code, c.want)
		}
		if strings.Contains(string(b), key) {
			t.Errorf("GET %s reveals a customer key", c.path)
		}
	}
	// The dashboard's data needs a signed-in session: a bearer token alone is not one.
	for _, tok := range []string{"", h.Admin} {
		code, b := h.do(t, "GET", "/export/stores", tok, nil)
		if code == 200 && strings.Contains(string(b), "S001") {
			t.Errorf("dashboard export without a session (token %q): %d %s", tok, code, b)
		}
	}
	// A forged sign-in and a sign-in without the CSRF token make no session.
	for _, form := range []string{"token=" + url.QueryEscape("hqa_forged"), "token=" + url.QueryEscape(h.Admin)} {
		code, _ := h.do(t, "POST", "/login", "", []byte(form))
		if code == 303 {
			t.Errorf("POST /login %q without CSRF token signed in", form)
		}
	}
}

// TestMalformedAndOversizedBodies: every malformed body is a 400 naming the problem, an
// oversized one a 413, and nothing of a rejected batch is stored.
func TestMalformedAndOversizedBodies(t *testing.T) {
	h := startFullHQ(t, "S001")
	tok := h.Tokens["S001"]
	good := visitFor("01MALFORMED00000000000001", "S001", true)
	goodJSON, _ := json.Marshal(good)
	cases := []struct {
		name, path string
		body       []byte
		want       int
		mention    string
	}{
		{"not JSON", wire.PathRecords, []byte("{store_id:"), 400, "JSON"},
		{"empty", wire.PathRecords, []byte(""), 400, "JSON"},
		{"array", wire.PathRecords, []byte("[]"), 400, ""},
		{"unknown field", wire.PathRecords, []byte(`{"store_id":"S001","records":[],"extra":1}`), 400, "extra"},
		{"record without id", wire.PathRecords, []byte(`{"store_id":"S001","records":[` + string(goodJSON) + `,{"store_id":"S001","outcome":"complete"}]}`), 400, "id"},
		{"bad date", wire.PathRecords, []byte(`{"store_id":"S001","records":[{"id":"x","store_id":"S001","started_at":"yesterday"}]}`), 400, "started_at"},
		{"trailing data", wire.PathRecords, []byte(`{"store_id":"S001","records":[]} {}`), 400, "trailing"},
		{"purchase bad date", wire.PathPurchases, []byte(`{"purchases":[{"id":"p1","customer_key":"` + strings.Repeat("ab", 16) + `","store_id":"S001","sold_at":"2026-13-45","drug_code":"x","quantity":1}]}`), 400, "sold_at"},
		{"over 4 MiB", wire.PathRecords, append([]byte(`{"store_id":"S001","records":[],"pad":"`), append(bytes4MiB(), []byte(`"}`)...)...), 413, ""},
	}
	for _, c := range cases {
		code, b := h.do(t, "POST", c.path, tok, c.body)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, trunc(b), c.want)
			continue
		}
		var e wire.ErrorResponse
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("%s: no {\"error\":…} body: %s", c.name, trunc(b))
		} else if c.mention != "" && !strings.Contains(e.Error, c.mention) {
			t.Errorf("%s: error %q does not name %q", c.name, e.Error, c.mention)
		}
	}
	// The good record of the rejected batch was not stored: sending it now is new.
	code, b := h.do(t, "POST", wire.PathRecords, tok, wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{good}})
	var ir wire.IngestResponse
	if code != 200 || json.Unmarshal(b, &ir) != nil || ir.Accepted != 1 {
		t.Fatalf("good record after the rejected batch: %d %s", code, b)
	}
	// Replayed batch: all duplicates, nothing credited twice.
	code, b = h.do(t, "POST", wire.PathRecords, tok, wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{good}})
	if code != 200 || json.Unmarshal(b, &ir) != nil || ir.Accepted != 0 || ir.Duplicates != 1 {
		t.Fatalf("replayed batch: %d %s", code, b)
	}
	_, b = h.do(t, "GET", wire.PathPoints+"?store_id=S001", tok, nil)
	var pr wire.PointsResponse
	if json.Unmarshal(b, &pr) != nil || len(pr.Rows) != 1 || pr.Rows[0].Points != flows.DefaultPointsRules()[flows.PointsVisitComplete] {
		t.Fatalf("points after a replayed batch: %s", b)
	}
}

func bytes4MiB() []byte { return []byte(strings.Repeat("x", wire.MaxBodyBytes+1)) }

func trunc(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// TestSlowLoris: a client that drips its request headers is cut off by the server's
// header timeout instead of holding a connection (and a goroutine) forever.
func TestSlowLoris(t *testing.T) {
	h := startFullHQ(t, "S001")
	conn, err := net.Dial("tcp", h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: hq\r\n")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		r := bufio.NewReader(conn)
		_, _ = r.ReadString('\n') // returns when the server closes (or answers 408)
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case d := <-closed:
			if d > 8*time.Second {
				t.Fatalf("server held a slow-loris connection for %v", d)
			}
			t.Logf("slow-loris connection cut after %v", d.Round(100*time.Millisecond))
			return
		case <-tick.C:
			if _, err := fmt.Fprintf(conn, "X-Drip-%d: a\r\n", i); err != nil {
				t.Logf("slow-loris connection cut after %v (write: %v)", time.Since(start).Round(100*time.Millisecond), err)
				return
			}
			if time.Since(start) > 15*time.Second {
				t.Fatal("server still reading a dripping header after 15 s")
			}
		}
	}
}

// TestForgedFollowUpLinks: forged, altered, expired and repeated links earn nothing.
func TestForgedFollowUpLinks(t *testing.T) {
	h := startFullHQ(t, "S001")
	tok := h.Tokens["S001"]
	v := visitFor("01FORGEDLINKS000000000001", "S001", true)
	if code, b := h.do(t, "POST", wire.PathRecords, tok, wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{v}}); code != 200 {
		t.Fatalf("records: %d %s", code, b)
	}
	linkRE := regexp.MustCompile(`/f/[A-Za-z0-9_-]+`)
	var link string
	for deadline := time.Now().Add(10 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		link = linkRE.FindString(h.Out.String())
	}
	if link == "" {
		t.Fatalf("no follow-up link sent:\n%s", h.Out.String())
	}
	points := func() int {
		_, b := h.do(t, "GET", wire.PathPoints+"?store_id=S001", tok, nil)
		var pr wire.PointsResponse
		if err := json.Unmarshal(b, &pr); err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, r := range pr.Rows {
			sum += r.Points
		}
		return sum
	}
	base := points()
	tokStr := strings.TrimPrefix(link, "/f/")
	altered := []byte(tokStr)
	altered[len(altered)/2] ^= 0x01
	if altered[len(altered)/2] == '_' || altered[len(altered)/2] == '-' {
		altered[len(altered)/2] = 'A'
	}
	signer, err := followup.NewSigner(h.LinkSecret)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := signer.Token(v.ID+"-f1", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := followup.NewSigner([]byte("not-the-hq-link-secret-0123456789"))
	forged, _ := otherSigner.Token(v.ID+"-f1", time.Now().Add(time.Hour))
	for name, p := range map[string]string{"garbage": "/f/AAAA", "altered": "/f/" + string(altered), "expired": "/f/" + expired, "forged": "/f/" + forged, "empty": "/f/"} {
		code, b := h.do(t, "GET", p, "", nil)
		if code == 200 && strings.Contains(string(b), "<form") {
			t.Errorf("%s link shows the booking form", name)
		}
		if code, b := h.do(t, "POST", p+"/book", "", []byte("date=2026-12-01&slot=am")); code == 200 && strings.Contains(string(b), "已预约") {
			t.Errorf("%s link booked a visit", name)
		}
		_ = code
	}
	if got := points(); got != base {
		t.Fatalf("bad links earned points: %d → %d", base, got)
	}
	if code, _ := h.do(t, "GET", link, "", nil); code != 200 {
		t.Fatalf("the real link: %d", code)
	}
	first := points()
	h.do(t, "GET", link, "", nil)
	if first != base+flows.DefaultPointsRules()[flows.PointsLinkOpened] || points() != first {
		t.Fatalf("points: base %d, after first open %d, after repeat %d", base, first, points())
	}
}

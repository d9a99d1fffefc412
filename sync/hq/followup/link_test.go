package followup

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/clientip"
)

type linkEnv struct {
	h    *LinkHandlerT
	st   *boltstore.Store
	clk  *clock
	srv  *httptest.Server
	link string // path /f/TOKEN of V1-f1
}

func newLinkEnv(t *testing.T, burst int) *linkEnv {
	t.Helper()
	st, _ := newTestStore(t)
	clk := newClock()
	h, err := LinkHandler(LinkConfig{Store: st, Signer: testSigner(t), Logger: quiet(), Now: clk.Now, Burst: burst, Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if err := st.PutPharmacist(context.Background(), flows.Pharmacist{StoreID: "S001", ID: "P01", Name: "王芳"}); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, st, visit("V1", "S001", "P01", clk.Now(), true))
	ch := &recChannel{}
	if _, err := newDispatcher(t, st, ch, clk).DispatchDue(context.Background()); err != nil || len(ch.links) != 1 {
		t.Fatalf("send: %v %v", err, ch.links)
	}
	return &linkEnv{h: h, st: st, clk: clk, srv: srv, link: strings.TrimPrefix(ch.links[0], "http://hq.test")}
}

func (e *linkEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *linkEnv) book(t *testing.T, path, date, slot string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(e.srv.URL+path+"/book", url.Values{"date": {date}, "slot": {slot}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *linkEnv) points(t *testing.T) int {
	t.Helper()
	return pointsOf(t, e.st, "S001", "P01")
}

const reminderText = "降压药"

func TestLinkExactlyOnceUnderConcurrentAndRepeatedClicks(t *testing.T) {
	e := newLinkEnv(t, 1000)
	var wg sync.WaitGroup
	var full, plain atomic.Int32
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(e.srv.URL + e.link)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200 && strings.Contains(string(b), reminderText) && strings.Contains(string(b), `name="slot"`):
				full.Add(1)
			case resp.StatusCode == 200 && strings.Contains(string(b), "已打开过"):
				plain.Add(1)
			default:
				t.Errorf("unexpected answer %d %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	if full.Load() != 1 || plain.Load() != 63 {
		t.Fatalf("full pages %d, plain %d: want exactly one first open", full.Load(), plain.Load())
	}
	if p := e.points(t); p != 2 {
		t.Fatalf("points after 64 concurrent opens: %d, want 2", p)
	}
	code, body := e.get(t, e.link)
	if code != 200 || strings.Contains(body, reminderText) || e.points(t) != 2 {
		t.Fatalf("repeat open: %d points=%d", code, e.points(t))
	}
	it := get(t, e.st, "S001:V1-f1")
	if it.OpenedAt.IsZero() {
		t.Fatal("open not recorded")
	}
	// Booking: concurrent submits book once.
	date := (flows.DayOf(e.clk.Now()) + 3).String()
	var booked atomic.Int32
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.PostForm(e.srv.URL+e.link+"/book", url.Values{"date": {date}, "slot": {"pm"}})
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "已为您预约复诊") {
				booked.Add(1)
			}
		}()
	}
	wg.Wait()
	if booked.Load() != 1 || e.points(t) != 5 {
		t.Fatalf("bookings %d, points %d: want 1 and 2+3", booked.Load(), e.points(t))
	}
	b, ok, _ := e.st.Booking(context.Background(), "S001:V1-f1")
	if !ok || b.Date.String() != date || b.Slot != "pm" {
		t.Fatalf("booking %+v", b)
	}
	// Both events are in the ledger under their ids: crediting them again earns nothing.
	for _, id := range []string{"S001:V1-f1:link_opened", "S001:V1-f1:revisit_booked"} {
		if ok, err := e.st.CreditPoints(context.Background(), flows.PointsEvent{ID: id, StoreID: "S001", PharmacistID: "P01", Points: 9}); ok || err != nil {
			t.Fatalf("event %s not in the ledger (credited again: %v %v)", id, ok, err)
		}
	}
	if err := e.h.FlushAudit(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	entries := auditLog(e.st, "customer-link")
	acts := map[string]int{}
	repeats := ""
	for _, en := range entries {
		acts[en.Action]++
		if en.Action == "link.repeat" {
			repeats = en.Detail
		}
	}
	// The 64 repeated opens are one counted entry, not 64 writes.
	if acts["link.click"] != 1 || acts["link.book"] != 1 || acts["link.repeat"] != 1 || !strings.Contains(repeats, "count=64") {
		t.Fatalf("audit %v (repeats %q)", acts, repeats)
	}
}

func TestLinkBadTokensEarnNothing(t *testing.T) {
	e := newLinkEnv(t, 1000)
	tok := strings.TrimPrefix(e.link, "/f/")
	altered := []byte(tok)
	altered[12] ^= 1 // a character of the id/expiry part
	other, _ := NewSigner([]byte("attacker-secret-0123456789abcdef"))
	forged, _ := other.Token("S001:V1-f1", e.clk.Now().Add(time.Hour))
	cases := map[string]string{
		"altered": "/f/" + string(altered),
		"forged":  "/f/" + forged,
		"garbage": "/f/hello",
	}
	for name, path := range cases {
		code, body := e.get(t, path)
		if code != http.StatusNotFound || strings.Contains(body, reminderText) || strings.Contains(body, "<form") {
			t.Fatalf("%s: %d %s", name, code, body)
		}
		if code, _ := e.book(t, path, (flows.DayOf(e.clk.Now()) + 2).String(), "am"); code != http.StatusNotFound {
			t.Fatalf("%s book: %d", name, code)
		}
	}
	// A valid token for an id that does not exist.
	ghost, _ := testSigner(t).Token("S001:NOPE-f1", e.clk.Now().Add(time.Hour))
	if code, _ := e.get(t, "/f/"+ghost); code != http.StatusNotFound {
		t.Fatalf("unknown id: %d", code)
	}
	e.clk.Add(8 * 24 * time.Hour) // past the 7-day link TTL
	code, body := e.get(t, e.link)
	if code != http.StatusGone || strings.Contains(body, reminderText) {
		t.Fatalf("expired: %d", code)
	}
	if e.points(t) != 0 {
		t.Fatalf("bad tokens earned %d points", e.points(t))
	}
	it := get(t, e.st, "S001:V1-f1")
	if !it.OpenedAt.IsZero() {
		t.Fatal("bad token recorded an open")
	}
	if err := e.h.FlushAudit(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	entries := auditLog(e.st, "customer-link")
	rejects := map[string]int{}
	for _, en := range entries {
		if en.Action != "link.reject" {
			continue
		}
		for _, f := range strings.Fields(en.Detail) {
			if k, v, ok := strings.Cut(f, "="); ok && k != "minute" && k != "count" {
				n, _ := strconv.Atoi(v)
				rejects[k] += n
			}
		}
	}
	if rejects["forged"] < 2 || rejects["expired"] != 1 || rejects["invalid"] < 1 {
		t.Fatalf("reject audit %v", rejects)
	}
}

func TestLinkPageRevealsNoIdentityAndValidatesBooking(t *testing.T) {
	e := newLinkEnv(t, 1000)
	today := flows.DayOf(e.clk.Now())
	if code, _ := e.book(t, e.link, (today + 2).String(), "am"); code != http.StatusConflict {
		t.Fatalf("booking before opening: %d", code)
	}
	code, body := e.get(t, e.link)
	if code != 200 || !strings.Contains(body, reminderText) {
		t.Fatalf("%d %s", code, body)
	}
	for _, secret := range []string{testCustomerKey, testMasked, "002X", "1101"} {
		if strings.Contains(body, secret) {
			t.Fatalf("page reveals %q", secret)
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "<script") {
		t.Fatal("page references external assets or scripts")
	}
	for _, bad := range []struct{ date, slot string }{
		{today.String(), "am"}, {(today + 31).String(), "am"}, {"2026-13-01", "am"}, {(today + 2).String(), "midnight"}, {"", ""},
	} {
		if code, _ := e.book(t, e.link, bad.date, bad.slot); code != http.StatusBadRequest {
			t.Fatalf("booking %v: %d", bad, code)
		}
	}
	if _, ok, _ := e.st.Booking(context.Background(), "S001:V1-f1"); ok {
		t.Fatal("bad booking stored")
	}
	if code, body := e.book(t, e.link, (today + 30).String(), "eve"); code != 200 || !strings.Contains(body, "晚上") {
		t.Fatalf("good booking: %d", code)
	}
}

func TestLinkRateLimitPerClient(t *testing.T) {
	e := newLinkEnv(t, 3)
	h, _ := LinkHandler(LinkConfig{Store: e.st, Signer: testSigner(t), Logger: quiet(),
		Now: e.clk.Now, Rate: 0.5, Burst: 3, Clients: clientip.New(netip.MustParsePrefix("10.0.0.0/8"))})
	hit := func(client string) int {
		r := httptest.NewRequest("GET", "/f/garbage", nil)
		r.RemoteAddr = "10.0.0.1:5555"
		r.Header.Set("X-Forwarded-For", client)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 3 {
		if c := hit("203.0.113.7"); c != http.StatusNotFound {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if c := hit("203.0.113.7"); c != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d, want 429", c)
	}
	if c := hit("198.51.100.9"); c != http.StatusNotFound {
		t.Fatalf("another client limited too: %d", c)
	}
	e.clk.Add(2 * time.Second) // one token back at 0.5/s
	if c := hit("203.0.113.7"); c != http.StatusNotFound {
		t.Fatalf("after refill: %d", c)
	}
	if c := hit("203.0.113.7"); c != http.StatusTooManyRequests {
		t.Fatalf("after one refill token: %d", c)
	}
	// The server in newLinkEnv (burst 3): a valid link is limited too.
	for range 3 {
		e.get(t, "/f/x")
	}
	if code, _ := e.get(t, e.link); code != http.StatusTooManyRequests {
		t.Fatalf("valid link over the limit: %d", code)
	}
	if e.points(t) != 0 {
		t.Fatal("rate-limited open earned points")
	}
}

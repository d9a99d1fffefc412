package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// testHQ is an assembled HQ on a bbolt file, served over loopback, for the
// regression tests: an admin token and a store token per store.
type testHQ struct {
	st     hq.Store
	hq     *HQ
	srv    *httptest.Server
	clk    *clock
	logs   *syncBuf
	admin  string
	tokens map[string]string
}

// startHQ assembles HQ with cfg (LinkSecret, PublicURL, Logger, Now and Interval
// filled when empty) on a fresh bbolt store with tokens for stores.
func startHQ(t *testing.T, cfg Config, stores ...string) *testHQ {
	t.Helper()
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &testHQ{st: st, clk: &clock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, flows.Shanghai())}, logs: &syncBuf{}, tokens: map[string]string{}}
	if cfg.LinkSecret == nil {
		cfg.LinkSecret = []byte("0123456789abcdef0123456789abcdef")
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://hq.local:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Now == nil {
		cfg.Now = h.clk.Now
	}
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Millisecond
	}
	if h.hq, err = New(ctx, st, cfg); err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(h.hq.Handler())
	t.Cleanup(func() {
		h.hq.Stop()
		h.srv.Close()
		st.Close()
	})
	if h.admin, err = hq.CreateToken(ctx, st, hq.Principal{Admin: true, Label: "ops"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if h.tokens[s], err = hq.CreateToken(ctx, st, hq.Principal{StoreID: s}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// do sends a request (body: nil, string/[]byte as is, or JSON-encoded) with a bearer
// token (empty: none) and returns the status and body.
func (h *testHQ) do(t *testing.T, method, path, tok string, body any, hdr ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// storeVisit is completeVisit of store/pharmacist (follow-up with consent).
func storeVisit(id, store, pharm string, end time.Time) flows.Visit {
	v := completeVisit(id, end, true)
	v.StoreID, v.PharmacistID = store, pharm
	v.FollowUp.FollowUp.StoreID, v.FollowUp.FollowUp.PharmacistID = store, pharm
	return v
}

// putRoster adds pharmacists to a store's roster.
func (h *testHQ) putRoster(t *testing.T, store string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := h.st.PutPharmacist(context.Background(), flows.Pharmacist{StoreID: store, ID: id, Name: "药师" + id}); err != nil {
			t.Fatal(err)
		}
	}
}

// dashboard signs in to the dashboard with the admin token and returns the page.
func (h *testHQ) dashboard(t *testing.T) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(h.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form: %s", page)
	}
	resp, err = c.PostForm(h.srv.URL+"/login", url.Values{"csrf": {string(m[1])}, "token": {h.admin}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "看板") {
		t.Fatalf("dashboard after sign-in: %d %s", resp.StatusCode, page)
	}
	return string(page)
}

// sendDue runs the dispatcher once and returns the links the log-only channel printed.
func (h *testHQ) sendDue(t *testing.T, out *syncBuf) []string {
	t.Helper()
	if _, err := h.hq.Dispatcher().DispatchDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`https?://\S+/f/\S+`).FindAllString(out.String(), -1)
}

// open GETs a tracked link (a phone's request) from addr (X-Forwarded-For, if not
// empty) and returns the status.
func (h *testHQ) open(t *testing.T, link string, hdr ...string) int {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := h.do(t, "GET", u.Path, "", nil, hdr...)
	return code
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/admin"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/wire"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func completeVisit(id string, end time.Time, consent bool) flows.Visit {
	yes := true
	return flows.Visit{ID: id, StoreID: "S001", PharmacistID: "P01", CustomerKey: "0123456789abcdef0123456789abcdef",
		StartedAt: end.Add(-10 * time.Minute), UpdatedAt: end, EndedAt: end, Outcome: flows.OutcomeComplete,
		Identify:      &flows.IdentifyStep{At: end.Add(-9 * time.Minute), AsOf: flows.DayOf(end)},
		Questionnaire: &flows.QuestionnaireStep{At: end.Add(-6 * time.Minute), Class: "hypertension", Answers: map[string]string{"q1": "a"}},
		Recommend: &flows.RecommendStep{At: end.Add(-3 * time.Minute), Items: []flows.Recommendation{
			{ID: "kb1", Title: "家庭血压计", Reason: "r", Accepted: &yes}, {ID: "kb2", Title: "低盐饮食", Reason: "r"}}},
		FollowUp: &flows.FollowUpStep{At: end, Consent: map[string]bool{flows.ChannelWeCom: consent}, Declined: !consent,
			FollowUp: &flows.FollowUp{ID: id + "-f1", VisitID: id, StoreID: "S001", PharmacistID: "P01",
				CustomerKey: "0123456789abcdef0123456789abcdef", Channel: flows.ChannelWeCom, DueAt: end.Add(24 * time.Hour),
				Text: "您好，请记得按时服用降压药。", Consent: consent}},
	}
}

func TestEndToEndThroughHQ(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, flows.Shanghai())}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := &syncBuf{}
	w, err := New(context.Background(), st, Config{LinkSecret: []byte("0123456789abcdef0123456789abcdef"), PublicURL: "http://hq.local:8080",
		Out: out, DemoChannel: true, Logger: log, Now: clk.Now, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	storeTok, _ := hq.CreateToken(ctx, st, hq.Principal{StoreID: "S001"})
	adminTok, _ := hq.CreateToken(ctx, st, hq.Principal{Admin: true})
	if err := st.PutPharmacist(ctx, flows.Pharmacist{StoreID: "S001", ID: "P01", Name: "王芳"}); err != nil {
		t.Fatal(err) // HQ credits only pharmacists on the roster
	}

	do := func(method, path, tok string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	recs := wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{completeVisit("V1", clk.Now(), true), completeVisit("V2", clk.Now(), false)}}
	if code, b := do("POST", wire.PathRecords, storeTok, recs); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	if code, _ := do("POST", wire.PathRecords, storeTok, recs); code != 200 { // replay
		t.Fatal(code)
	}
	if _, err := st.FollowUp(ctx, "S001:V1-f1"); err != nil {
		t.Fatalf("consented follow-up not enqueued: %v", err)
	}
	if _, err := st.FollowUp(ctx, "S001:V2-f1"); err == nil {
		t.Fatal("follow-up without consent enqueued")
	}
	// A bad follow-up rejects the whole batch (400) and stores nothing of it.
	bad := completeVisit("V3", clk.Now(), true)
	bad.FollowUp.FollowUp.DueAt = time.Time{}
	if code, b := do("POST", wire.PathRecords, storeTok, wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{completeVisit("V4", clk.Now(), true), bad}}); code != 400 {
		t.Fatalf("bad follow-up: %d %s", code, b)
	}
	if _, err := st.FollowUp(ctx, "S001:V4-f1"); err == nil {
		t.Fatal("part of a rejected batch stored")
	}

	w.Start(ctx)
	stop := w.Stop
	clk.Add(24 * time.Hour)
	re := regexp.MustCompile(`http://hq\.local:8080(/f/[A-Za-z0-9_-]+)`)
	deadline := time.Now().Add(5 * time.Second)
	for !re.MatchString(out.String()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("log channel printed no link: %q", out.String())
	}
	points := func() int {
		_, b := do("GET", wire.PathPoints+"?store_id=S001&pharmacist_id=P01", storeTok, nil)
		var pr wire.PointsResponse
		_ = json.Unmarshal(b, &pr)
		if len(pr.Rows) != 1 {
			return 0
		}
		return pr.Rows[0].Points
	}
	before := points() // visit_complete for V1 and V2
	if code, b := do("GET", m[1], "", nil); code != 200 || !strings.Contains(string(b), "降压药") {
		t.Fatalf("link page: %d", code)
	}
	do("GET", m[1], "", nil)
	if got := points(); got != before+2 {
		t.Fatalf("points %d → %d, want +2 once", before, got)
	}
	// Overdue report and audit log through HQ auth.
	clk.Add(80 * time.Hour)
	if code, _ := do("GET", wire.PathFollowups+"?status=overdue&store_id=S002", storeTok, nil); code != 403 {
		t.Fatalf("store reading another store's follow-ups: %d", code)
	}
	if code, _ := do("GET", wire.PathFollowups+"?status=overdue", "", nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	code, b := do("GET", wire.PathFollowups+"?status=overdue", storeTok, nil)
	var fr followup.FollowupsResponse
	if err := json.Unmarshal(b, &fr); code != 200 || err != nil || len(fr.Rows) != 0 {
		t.Fatalf("opened follow-up must not be overdue: %d %s", code, b)
	}
	if code, _ := do("GET", wire.PathAudit, storeTok, nil); code != 403 {
		t.Fatalf("store token reading the audit log: %d", code)
	}
	if err := w.API().Flush(ctx); err != nil { // counted link requests: written in batches
		t.Fatal(err)
	}
	code, b = do("GET", wire.PathAudit+"?limit=1000", adminTok, nil)
	var ar admin.AuditResponse
	if err := json.Unmarshal(b, &ar); code != 200 || err != nil {
		t.Fatalf("audit: %d %s", code, b)
	}
	acts := map[string]int{}
	for _, e := range ar.Entries {
		acts[e.Action]++
	}
	for _, want := range []string{"ingest", "followup.enqueue", "followup.skip_no_consent", "token.create", "followup.send_attempt", "followup.send_result", "link.click", "link.repeat"} {
		if acts[want] == 0 {
			t.Fatalf("audit lacks %q: %v", want, acts)
		}
	}
	if acts["ingest"] != 2 {
		t.Fatalf("ingest audited %d times, want 2 (replay and rejected batch add none)", acts["ingest"])
	}
	// The dashboard answers at /.
	if code, b := do("GET", "/", "", nil); code != 200 || !strings.Contains(string(b), `id="login"`) {
		t.Fatalf("dashboard: %d", code)
	}
	if code, b := do("GET", "/healthz", "", nil); code != 200 || !strings.Contains(string(b), "ok") {
		t.Fatalf("healthz shadowed: %d", code)
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "link.secret")
	a, err := LoadOrCreateSecretFile(p)
	if err != nil || len(a) != 32 {
		t.Fatal(err)
	}
	b, err := LoadOrCreateSecretFile(p)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatal("secret changed on reload")
	}
}

// ambiguous fails every send as a timeout after the request was written: the outcome
// is unknown, so the dispatcher never resends on its own.
type ambiguous struct{}

func (ambiguous) Send(context.Context, flows.FollowUp, string) (followup.SendResult, error) {
	return followup.SendResult{}, errors.New("timeout after write")
}

func TestResolveRoute(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, flows.Shanghai())}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := New(context.Background(), st, Config{LinkSecret: []byte("0123456789abcdef0123456789abcdef"), PublicURL: "http://hq.local",
		Channel: ambiguous{}, Logger: slog.New(slog.DiscardHandler), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	storeTok, _ := hq.CreateToken(ctx, st, hq.Principal{StoreID: "S001"})
	adminTok, _ := hq.CreateToken(ctx, st, hq.Principal{Admin: true, Label: "ops"})
	post := func(path, tok, body string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	recs, _ := json.Marshal(wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{completeVisit("V1", clk.Now().Add(-24*time.Hour), true)}})
	if code := post(wire.PathRecords, storeTok, string(recs)); code != 200 {
		t.Fatalf("ingest: %d", code)
	}
	if _, err := w.Dispatcher().DispatchDue(ctx); err != nil {
		t.Fatal(err)
	}
	if it, _ := st.FollowUp(ctx, "S001:V1-f1"); it.Status != hq.StatusUnknown {
		t.Fatalf("after an ambiguous send: %s", it.Status)
	}
	path := wire.PathFollowups + "/S001:V1-f1/resolve"
	for _, c := range []struct {
		tok, body string
		want      int
	}{
		{storeTok, `{"sent":true}`, 403},
		{adminTok, `{}`, 400},
		{adminTok, `{"sent":"yes"}`, 400},
		{adminTok, `{"sent":true,"x":1}`, 400},
		{"", `{"sent":true}`, 401},
	} {
		if code := post(path, c.tok, c.body); code != c.want {
			t.Errorf("%s: %d, want %d", c.body, code, c.want)
		}
	}
	if code := post(wire.PathFollowups+"/S001:NOPE-f1/resolve", adminTok, `{"sent":true}`); code != 404 {
		t.Errorf("unknown id: %d", code)
	}
	if code := post(path, adminTok, `{"sent":true}`); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	if it, _ := st.FollowUp(ctx, "S001:V1-f1"); it.Status != hq.StatusSent {
		t.Fatalf("after resolve: %s", it.Status)
	}
	if code := post(path, adminTok, `{"sent":true}`); code != 409 {
		t.Errorf("resolving twice: %d, want 409", code)
	}
	entries, err := st.AuditEntries(ctx, hq.AuditQuery{To: clk.Now().Add(time.Hour), Actor: "admin:ops", Limit: 10})
	if err != nil || len(entries) == 0 {
		t.Fatalf("resolve not audited under the admin's label: %v %v", entries, err)
	}
}

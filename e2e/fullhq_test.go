package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/server"
)

// fullHQ is HQ as `hq serve` builds it (sync/hq/server: records, follow-ups, dashboard,
// admin routes), on a real bbolt file and a real loopback listener with the production
// server timeouts.
type fullHQ struct {
	URL        string
	Addr       string
	Store      hq.Store
	Admin      string
	Tokens     map[string]string // store id → token
	LinkSecret []byte
	Out        *lockedBuffer // the log-only channel's output (follow-up links)
}

func startFullHQ(t *testing.T, stores ...string) *fullHQ {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := server.OpenStore(ctx, server.StoreConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	h := &fullHQ{Store: st, Tokens: map[string]string{}, Out: &lockedBuffer{}}
	if h.Admin, err = hq.CreateToken(ctx, st, hq.Principal{Admin: true}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if h.Tokens[s], err = hq.CreateToken(ctx, st, hq.Principal{StoreID: s}); err != nil {
			t.Fatal(err)
		}
		// HQ credits points only to pharmacists on the store's roster.
		if err := st.PutPharmacist(ctx, flows.Pharmacist{StoreID: s, ID: "P01", Name: "王芳"}); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.Addr = ln.Addr().String()
	h.URL = "http://" + h.Addr
	srv, err := server.New(ctx, st, server.Config{PublicURL: h.URL, Out: h.Out, DemoChannel: true, Interval: 50 * time.Millisecond, SendEarly: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if h.LinkSecret, err = st.LoadOrCreateSecret(ctx, server.LinkSecretName, 32); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	srv.Start(ctx)
	done := make(chan error, 1)
	go func() { done <- api.Serve(ctx, api.HTTPServer(h.Addr, srv.Handler(), nil), ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Stop()
		st.Close()
	})
	return h
}

// lockedBuffer is written by the dispatcher goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// do sends a request with a bearer token (empty: none) and a JSON body (nil: none).
func (h *fullHQ) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// visitFor builds a finished visit of a store (complete with WeCom consent, or not).
func visitFor(id, store string, complete bool) flows.Visit {
	now := time.Now()
	yes := true
	v := flows.Visit{ID: id, StoreID: store, PharmacistID: "P01", CustomerKey: strings.Repeat("cd", 16),
		StartedAt: now.Add(-3 * time.Minute), UpdatedAt: now, EndedAt: now, Outcome: flows.OutcomeAbandoned,
		Identify: &flows.IdentifyStep{At: now.Add(-150 * time.Second), AsOf: flows.DayOf(now)}}
	if complete {
		v.Outcome = flows.OutcomeComplete
		v.Questionnaire = &flows.QuestionnaireStep{At: now.Add(-2 * time.Minute), Class: "hypertension", Answers: map[string]string{"a": "b"}}
		v.Recommend = &flows.RecommendStep{At: now.Add(-time.Minute), Items: []flows.Recommendation{{ID: "r1", Title: "t", Reason: "r", Accepted: &yes}, {ID: "r2", Title: "t", Reason: "r", Accepted: &yes}}}
		fu := &flows.FollowUp{ID: id + "-f1", VisitID: id, StoreID: store, PharmacistID: "P01", CustomerKey: v.CustomerKey,
			Channel: flows.ChannelWeCom, DueAt: now.Add(24 * time.Hour), Text: "请按时服药", Consent: true}
		v.FollowUp = &flows.FollowUpStep{At: now, Consent: map[string]bool{flows.ChannelWeCom: true}, FollowUp: fu}
	}
	return v
}

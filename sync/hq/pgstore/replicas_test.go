package pgstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/server"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// clock is the replicas' shared test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// sends counts what the replicas' channel sent, per follow-up, and keeps each link.
type sends struct {
	mu    sync.Mutex
	n     map[string]int
	links map[string]string
	delay time.Duration // each send takes this long (sends overlap across replicas)
}

func (s *sends) Send(ctx context.Context, fu flows.FollowUp, link string) (followup.SendResult, error) {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[fu.ID]++
	s.links[fu.ID] = link
	return followup.SendResult{Status: followup.SendOK, MsgID: "m-" + fu.ID}, nil
}

// notices counts the staff notices the replicas posted: daily summaries per store, and
// how often each follow-up was named in an escalation.
type notices struct {
	mu        sync.Mutex
	n         map[string]int // "S001 summary"
	escalated map[string]int // follow-up id → escalations naming it
}

var escalatedRE = regexp.MustCompile(`> 随访 (\S+) 药师`)

func (n *notices) Notify(ctx context.Context, storeID, markdown string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if strings.Contains(markdown, "日报") {
		n.n[storeID+" summary"]++
		return nil
	}
	for _, m := range escalatedRE.FindAllStringSubmatch(markdown, -1) {
		n.escalated[m[1]]++
	}
	return nil
}

// replica is one HQ process (composition root, dispatcher, HTTP) on the shared database.
type replica struct {
	hq  *server.HQ
	url string
	st  *pgstore.Store
}

// replicas starts n HQs on one fresh database, each with its own connection pool,
// owner name and loopback HTTP server, sharing the clock, the channel and the notifier.
func replicas(t *testing.T, n int, clk *clock, ch *sends, nt *notices) []*replica {
	t.Helper()
	dbURL := pgtest.DB(t)
	var out []*replica
	for i := range n {
		st, err := pgstore.Open(context.Background(), dbURL, pgstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		h, err := server.New(context.Background(), st, server.Config{PublicURL: "http://hq.test", Now: clk.Now, Channel: ch,
			Notifier: nt, Owner: fmt.Sprintf("replica-%d", i), Lease: time.Minute, Catalog: hqtest.Catalog()})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(h.Handler())
		t.Cleanup(ts.Close)
		out = append(out, &replica{hq: h, url: ts.URL, st: st})
	}
	return out
}

func post(t *testing.T, url, token string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// consentVisit is a complete visit whose customer agreed to a WeCom follow-up due at due.
func consentVisit(id string, start, due time.Time) flows.Visit {
	v := hqtest.Visit(id, "S001", "P01", start, true)
	v.FollowUp = &flows.FollowUpStep{At: start.Add(4 * time.Minute), Consent: map[string]bool{flows.ChannelWeCom: true},
		FollowUp: &flows.FollowUp{ID: id + "-f1", VisitID: id, StoreID: "S001", PharmacistID: "P01", CustomerKey: v.CustomerKey,
			Channel: flows.ChannelWeCom, DueAt: due, Text: "请按时服药。", Consent: true}}
	return v
}

// Two replicas on one database behave as one HQ: the same batch posted to both at
// once counts once; every follow-up is sent exactly once while both dispatch;
// escalations and daily summaries go out once; a link opened on both at the same
// moment credits once.
func TestReplicasBehaveAsOne(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, flows.Shanghai())
	clk := &clock{t: start}
	ch := &sends{n: map[string]int{}, links: map[string]string{}, delay: 5 * time.Millisecond}
	nt := &notices{n: map[string]int{}, escalated: map[string]int{}}
	rs := replicas(t, 2, clk, ch, nt)
	tok, err := hq.CreateToken(ctx, rs[0].st, hq.Principal{StoreID: "S001"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs[0].st.PutPharmacist(ctx, flows.Pharmacist{StoreID: "S001", ID: "P01", Name: "王芳"}); err != nil {
		t.Fatal(err) // HQ credits only pharmacists on the roster
	}

	// The same 200-record batch to both replicas at the same moment.
	const n = 200
	var records []flows.Visit
	for i := range n {
		records = append(records, consentVisit(fmt.Sprintf("v%04d", i), start.Add(time.Duration(i)*time.Second), start.Add(time.Hour)))
	}
	var wg sync.WaitGroup
	accepted := make([]wire.IngestResponse, 2)
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := post(t, r.url+wire.PathRecords, tok, wire.RecordsRequest{StoreID: "S001", Records: records})
			if code != http.StatusOK || json.Unmarshal(body, &accepted[i]) != nil {
				t.Errorf("replica %d: %d %s", i, code, body)
			}
		}()
	}
	wg.Wait()
	if a, b := accepted[0], accepted[1]; a.Accepted+b.Accepted != n || a.Duplicates+b.Duplicates != n {
		t.Fatalf("accepted %d+%d, duplicates %d+%d; want %d accepted once", a.Accepted, b.Accepted, a.Duplicates, b.Duplicates, n)
	}
	gs, err := rs[1].st.Completion(ctx, hq.CompletionQuery{GroupBy: hq.GroupByStore})
	if err != nil || len(gs) != 1 || gs[0].Rollup.Visits != n {
		t.Fatalf("completion after the double post: %+v %v", gs, err)
	}
	pts, err := rs[0].st.Points(ctx, "S001", "")
	if err != nil || len(pts) != 1 {
		t.Fatalf("points: %+v %v", pts, err)
	}
	visitPoints := pts[0].Points

	// Due: both replicas dispatch at once, several rounds.
	clk.Set(start.Add(2 * time.Hour))
	for round := 0; round < 6; round++ {
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() { defer wg.Done(); _ = r.hq.Dispatcher().Tick(ctx) }()
		}
		wg.Wait()
	}
	ch.mu.Lock()
	if len(ch.n) != n {
		t.Errorf("%d follow-ups sent, want %d", len(ch.n), n)
	}
	for id, c := range ch.n {
		if c != 1 {
			t.Errorf("follow-up %s sent %d times", id, c)
		}
	}
	links := ch.links
	ch.mu.Unlock()
	for i := 0; i < n; i += 37 {
		id := hq.FollowUpID("S001", fmt.Sprintf("v%04d-f1", i))
		if as, err := rs[i%2].st.Attempts(ctx, id); err != nil || len(as) != 1 || as[0].Status != hq.StatusSent {
			t.Errorf("%s attempts: %+v %v", id, as, err)
		}
	}

	// Links opened on both replicas at the same moment: one click, one credit each
	// (8 links: within the link handler's per-address burst on each replica).
	const opens = 8
	var opened sync.WaitGroup
	for i := 0; i < opens; i++ {
		link := links[hq.FollowUpID("S001", fmt.Sprintf("v%04d-f1", i))]
		path := strings.TrimPrefix(link, "http://hq.test")
		for _, r := range rs {
			opened.Add(1)
			go func() {
				defer opened.Done()
				resp, err := http.Get(r.url + path)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("open %s: %d", path, resp.StatusCode)
				}
			}()
		}
	}
	opened.Wait()
	pts, err = rs[1].st.Points(ctx, "S001", "")
	if err != nil || len(pts) != 1 {
		t.Fatalf("points: %+v %v", pts, err)
	}
	perOpen := flows.DefaultPointsRules()[flows.PointsLinkOpened]
	if got, want := pts[0].Points-visitPoints, opens*perOpen; got != want {
		t.Errorf("links opened on two replicas credited %d points, want %d (%d × %d)", got, want, opens, perOpen)
	}

	// Later: the unopened ones are overdue and the summary time has come. Both replicas
	// scan at once, several times: each overdue follow-up is escalated once (the two
	// replicas may split them between two notices) and S001 gets one summary.
	clk.Set(start.AddDate(0, 0, 4).Add(12 * time.Hour)) // 21:00 four days later
	for round := 0; round < 4; round++ {
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() { defer wg.Done(); _ = r.hq.Dispatcher().Tick(ctx) }()
		}
		wg.Wait()
		clk.Add(2 * time.Minute)
	}
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.n["S001 summary"] != 1 {
		t.Errorf("daily summaries posted: %v; want one for S001", nt.n)
	}
	if len(nt.escalated) != n-opens {
		t.Errorf("%d follow-ups escalated, want the %d unopened ones", len(nt.escalated), n-opens)
	}
	for id, c := range nt.escalated {
		if c != 1 {
			t.Errorf("follow-up %s escalated %d times", id, c)
		}
	}
}

// A replica starting (RecoverExpired at start) never marks another replica's live
// send unknown; a send whose replica died is marked unknown once its lease expired.
func TestReplicaRecoveryLeavesLiveSends(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, flows.Shanghai())
	clk := &clock{t: start}
	ch := &sends{n: map[string]int{}, links: map[string]string{}}
	rs := replicas(t, 2, clk, ch, &notices{n: map[string]int{}, escalated: map[string]int{}})
	tok, _ := hq.CreateToken(ctx, rs[0].st, hq.Principal{StoreID: "S001"})
	if code, body := post(t, rs[0].url+wire.PathRecords, tok, wire.RecordsRequest{StoreID: "S001",
		Records: []flows.Visit{consentVisit("live", start, start), consentVisit("dead", start, start)}}); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	// "dead" was claimed by a process that is gone, its lease long over; replica 0 is
	// mid-send of "live" (lease until +1 min). Claims go in id order.
	st := rs[0].st
	for _, c := range []struct {
		id, owner string
		at        time.Time
	}{{hq.FollowUpID("S001", "dead-f1"), "gone", start.Add(-time.Hour)}, {hq.FollowUpID("S001", "live-f1"), "replica-0", start}} {
		items, err := st.ClaimDue(ctx, hq.Claim{Owner: c.owner, Now: c.at, DueBy: start, Lease: time.Minute, Limit: 1})
		if err != nil || len(items) != 1 || items[0].FollowUp.ID != c.id {
			t.Fatalf("claim %s: %v %v", c.id, items, err)
		}
		if _, err := st.StartAttempt(ctx, hq.AttemptStart{ID: items[0].FollowUp.ID, Owner: c.owner, At: c.at, Lease: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	// Replica 1 starts now.
	n, err := rs[1].hq.Dispatcher().Recover(ctx)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d (%v), want 1", n, err)
	}
	live, dead := hq.FollowUpID("S001", "live-f1"), hq.FollowUpID("S001", "dead-f1")
	if it, _ := st.FollowUp(ctx, live); it.Status != hq.StatusSending {
		t.Errorf("live send: %s, want sending", it.Status)
	}
	if it, _ := st.FollowUp(ctx, dead); it.Status != hq.StatusUnknown {
		t.Errorf("dead send: %s, want unknown", it.Status)
	}
	// The live send finishes normally.
	if err := st.FinishAttempt(ctx, hq.AttemptResult{ID: live, Owner: "replica-0", Attempt: 1, At: start.Add(time.Second), Status: hq.StatusSent}); err != nil {
		t.Fatal(err)
	}
}

// Dashboard sessions and the sign-in failure limit are shared: signed in on one
// replica, an admin is signed in on the other; failures on both count together.
func TestReplicasShareSessions(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, flows.Shanghai())}
	rs := replicas(t, 2, clk, &sends{n: map[string]int{}, links: map[string]string{}}, &notices{n: map[string]int{}, escalated: map[string]int{}})
	admin, err := hq.CreateToken(ctx, rs[0].st, hq.Principal{Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	// signIn posts the login form on replica r with token tok, through jar.
	signIn := func(r *replica, jar http.CookieJar, tok string) int {
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(r.url + "/") // not signed in: the sign-in page
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfRE.FindSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF field on the login page: %s", page)
		}
		resp, err = c.PostForm(r.url+"/login", url.Values{"csrf": {string(m[1])}, "token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Each replica's own URL is a different host:port; the session cookie is the same
	// browser's, so carry it over by hand.
	jarA, _ := cookiejar.New(nil)
	if code := signIn(rs[0], jarA, admin); code != http.StatusSeeOther {
		t.Fatalf("sign-in on replica 0: %d", code)
	}
	ua, _ := url.Parse(rs[0].url)
	ub, _ := url.Parse(rs[1].url)
	jarB, _ := cookiejar.New(nil)
	jarB.SetCookies(ub, jarA.Cookies(ua))
	c := &http.Client{Jar: jarB, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(rs[1].url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("replica 1 with replica 0's session: %d, want 200", resp.StatusCode)
	}
	// Ten failures, alternating replicas (one client address): the limit is reached
	// for both, even with the right token.
	for i := range 10 {
		jar, _ := cookiejar.New(nil)
		if code := signIn(rs[i%2], jar, "hqa_wrong"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	for i, r := range rs {
		jar, _ := cookiejar.New(nil)
		if code := signIn(r, jar, admin); code != http.StatusTooManyRequests {
			t.Errorf("replica %d after 10 shared failures: %d, want 429", i, code)
		}
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/e2e/faultproxy"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/kiosk/counter"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/server"
	"github.com/pharmachain/counter/sync/hqclient"
	"github.com/pharmachain/counter/sync/wire"
)

// contentHQ is HQ as `hq serve` assembles it (sync/hq/server) with the embedded content
// as version 0, on a given store, over real HTTP; stores S001 and S002 each have a
// token and pharmacist P01 (PIN 1234) on their roster.
type contentHQ struct {
	URL    string
	Admin  string
	Tokens map[string]string
}

func startContentHQ(t *testing.T, st hq.Store) *contentHQ {
	t.Helper()
	ctx := context.Background()
	def, err := content.FromFS(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	h := &contentHQ{Tokens: map[string]string{}}
	if h.Admin, err = hq.CreateToken(ctx, st, hq.Principal{Admin: true, Label: "ops"}); err != nil {
		t.Fatal(err)
	}
	pin, err := bcrypt.GenerateFromPassword([]byte("1234"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"S001", "S002"} {
		if h.Tokens[s], err = hq.CreateToken(ctx, st, hq.Principal{StoreID: s}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutPharmacist(ctx, flows.Pharmacist{StoreID: s, ID: "P01", Name: "王芳", PINHash: string(pin)}); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	srv, err := server.New(ctx, st, server.Config{PublicURL: ts.URL, DefaultContent: def})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	h.URL = ts.URL
	t.Cleanup(func() {
		ts.Close()
		srv.Stop()
	})
	return h
}

// call sends a JSON request with a bearer token and returns the status and body.
func (h *contentHQ) call(t *testing.T, method, path, token string, in any) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, h.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// publish publishes files over the latest version (admin API) and returns its number.
func (h *contentHQ) publish(t *testing.T, req wire.ContentPublishRequest) content.Version {
	t.Helper()
	code, body := h.call(t, http.MethodPost, wire.PathContentVersions, h.Admin, req)
	if code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	var r wire.ContentPublishResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r.Version
}

func (h *contentHQ) assign(t *testing.T, req wire.ContentAssignRequest) {
	t.Helper()
	if code, body := h.call(t, http.MethodPost, wire.PathContentAssign, h.Admin, req); code != http.StatusNoContent {
		t.Fatalf("assign: %d %s", code, body)
	}
}

// status is what HQ keeps of a store's kiosk's content reports.
func (h *contentHQ) status(t *testing.T, storeID string) wire.ContentStatus {
	t.Helper()
	code, body := h.call(t, http.MethodGet, wire.PathContentVersions, h.Admin, nil)
	if code != http.StatusOK {
		t.Fatalf("content list: %d %s", code, body)
	}
	var l wire.ContentListResponse
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	for _, s := range l.Statuses {
		if s.StoreID == storeID {
			return s
		}
	}
	return wire.ContentStatus{StoreID: storeID, Version: -1}
}

// counterKiosk is a store's counter: the real core (kiosk/counter, no UI) on a real
// kiosk store in its own data directory, talking to HQ over HTTP through hqclient,
// with the content it keeps loaded at start as the app does (counter.StartContent).
type counterKiosk struct {
	t       *testing.T
	storeID string
	dir     string
	st      *store.Store
	c       *counter.Core
	q       chan func()
	cls     *devices.Classifier
	drainer *drain.Drainer
}

func startCounter(t *testing.T, hqURL, storeID, token string) *counterKiosk {
	t.Helper()
	k := &counterKiosk{t: t, storeID: storeID, dir: t.TempDir(), q: make(chan func(), 1000),
		cls: &devices.Classifier{Secret: []byte(demo.Secret)}}
	var err error
	if k.st, err = store.Open(store.DefaultPath(k.dir), store.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.st.Close() })
	p, err := content.FromFS(assets.FS())
	if err != nil {
		t.Fatal(err)
	}
	dom, err := p.Validate()
	if err != nil {
		t.Fatal(err)
	}
	embedded := counter.Content{Hash: p.Hash(), Data: dom}
	ct, tag, err := counter.StartContent(k.dir, embedded)
	if err != nil {
		t.Fatal(err)
	}
	cfg := counter.DefaultConfig()
	cfg.DataDir, cfg.StoreID, cfg.HQURL, cfg.Token = k.dir, storeID, hqURL, token
	k.c, err = counter.New(cfg, counter.Deps{Store: k.st, HQ: hqclient.New(hqURL, token, counter.HQBudget), Classifier: k.cls,
		Content: ct, Embedded: embedded, ContentTag: tag, Post: func(f func()) { k.q <- f }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.c.Close)
	k.drainer = drain.New(k.st, drain.Config{BaseURL: hqURL, Token: token, StoreID: storeID})
	k.waitFor("the roster and the first content pull", func() bool {
		return len(k.c.Roster()) > 0 && k.c.ContentState().Pulls > 0
	})
	return k
}

// waitFor runs what the core posted until cond holds (30 s on a loaded machine).
func (k *counterKiosk) waitFor(what string, cond func() bool) {
	k.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			k.t.Fatalf("%s: timed out waiting for %s (page %s)", k.storeID, what, k.c.Page().Screen())
		}
		select {
		case f := <-k.q:
			f()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// settle runs what the core posted until nothing came for 50 ms.
func (k *counterKiosk) settle() {
	for {
		select {
		case f := <-k.q:
			f()
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}

// syncCycle runs one sync cycle (what Tick does every counter.SyncEvery) and waits for
// its content pull to finish.
func (k *counterKiosk) syncCycle() {
	k.t.Helper()
	n := k.c.ContentState().Pulls
	k.c.SyncHQ()
	k.waitFor("the content pull", func() bool { return k.c.ContentState().Pulls > n })
	k.settle()
}

func (k *counterKiosk) press(s string) {
	for _, r := range s {
		k.c.Press(r)
		k.settle()
	}
}

func (k *counterKiosk) key(key counter.Key) {
	k.c.PressKey(key)
	k.settle()
}

func (k *counterKiosk) mustBe(s counter.Screen) {
	k.t.Helper()
	if got := k.c.Page().Screen(); got != s {
		m, _ := k.c.Message()
		k.t.Fatalf("%s: page %s, want %s (message %+v)", k.storeID, got, s, m)
	}
}

func (k *counterKiosk) visit() counter.VisitState {
	k.t.Helper()
	vs, ok := k.c.Visit()
	if !ok {
		k.t.Fatalf("%s: no visit open", k.storeID)
	}
	return vs
}

// signIn signs P01 in with the PIN the roster from HQ carries.
func (k *counterKiosk) signIn() {
	k.t.Helper()
	k.press("1")
	k.press("1234")
	k.key(counter.KeyEnter)
	k.mustBe(counter.ScreenWaiting)
}

// startVisit scans a customer and walks to the recommendations (step 3).
func (k *counterKiosk) startVisit(id string) {
	k.t.Helper()
	s := k.cls.Classify(devices.MakeFrame([]byte(id), time.Now()))
	k.c.HandleScan(s)
	k.waitFor("the history", func() bool { return !k.c.Loading() })
	k.mustBe(counter.ScreenIdentify)
	k.key(counter.KeyEnter)
	k.mustBe(counter.ScreenQuestionnaire)
	k.press("111")
	k.key(counter.KeyEnter)
	k.mustBe(counter.ScreenRecommend)
}

// finishVisit accepts the first recommendation, takes WeCom consent and ends the visit.
func (k *counterKiosk) finishVisit() flows.Visit {
	k.t.Helper()
	id := k.visit().Visit.ID
	k.press("1")
	k.key(counter.KeyEnter)
	k.mustBe(counter.ScreenFollowUp)
	k.press("1")
	k.key(counter.KeyEnter)
	k.mustBe(counter.ScreenSummary)
	k.key(counter.KeyEnter)
	k.mustBe(counter.ScreenWaiting)
	v, err := k.st.Visit(context.Background(), id)
	if err != nil {
		k.t.Fatal(err)
	}
	if v.Outcome != flows.OutcomeComplete {
		k.t.Fatalf("%s: visit %s %s", k.storeID, id, v.Outcome)
	}
	return v
}

func (k *counterKiosk) drain() {
	k.t.Helper()
	res, err := k.drainer.DrainOnce(context.Background())
	if err != nil {
		k.t.Fatalf("%s: drain: %v (%+v)", k.storeID, err, res)
	}
}

// embeddedText is a file of the embedded content with old replaced by new once.
func embeddedText(t *testing.T, name, old, new string) string {
	t.Helper()
	b, err := assets.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", name, old)
	}
	return strings.Replace(string(b), old, new, 1)
}

// retitle returns kb.json with item id's title replaced.
func retitle(t *testing.T, id, title string) string {
	t.Helper()
	b, err := assets.Read(flows.KnowledgeFile)
	if err != nil {
		t.Fatal(err)
	}
	var kb struct {
		Items []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &kb); err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, it := range kb.Items {
		if it.ID == id {
			at := strings.Index(s, `"id": "`+id+`"`)
			old := `"title": "` + it.Title + `"`
			j := strings.Index(s[at:], old)
			if at < 0 || j < 0 {
				t.Fatalf("kb.json: item %s's title not found", id)
			}
			return s[:at+j] + `"title": "` + title + `"` + s[at+j+len(old):]
		}
	}
	t.Fatalf("kb.json has no item %s", id)
	return ""
}

// TestContentPacksReachTheCounters is the counters' side of content packs end to end, on each HQ
// storage backend: two stores' counters (the real core on real kiosk stores) sync with
// HQ over real HTTP, the second through a proxy that can corrupt what passes.
//
//   - v1 to all stores reaches both counters within one sync cycle; HQ hears it.
//   - v2 (one question and one recommendation changed) to the pilot store S001: its
//     counter takes it within one sync cycle without a restart, but a visit open during
//     the switch finishes on v1; the next visit asks the new question, recommends the
//     new title and is reported under content version 2 at HQ (group_by=
//     content_version), its points priced with that version's rules. S002 stays on v1.
//   - v2 assigned to S002 while the proxy flips a byte of the pack: S002's counter
//     refuses it (hash), keeps v1 and reports the refusal with its reason; once the
//     path is clean it takes v2.
//   - Rollback (assign v1 to all) brings both counters back to v1; a broken pack is
//     refused by publish with 400 naming its file and field.
func TestContentPacksReachTheCounters(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) hq.Store{
		"bbolt": func(t *testing.T) hq.Store {
			st, err := server.OpenStore(context.Background(), server.StoreConfig{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) hq.Store {
			st, err := server.OpenStore(context.Background(), server.StoreConfig{DB: pgtest.DB(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	} {
		t.Run(name, func(t *testing.T) { contentPacksReachTheCounters(t, open(t)) })
	}
}

func contentPacksReachTheCounters(t *testing.T, st hq.Store) {
	h := startContentHQ(t, st)
	proxy, err := faultproxy.NewTamper(h.URL, wire.PathContent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	a := startCounter(t, h.URL, "S001", h.Tokens["S001"])
	b := startCounter(t, proxy.URL(), "S002", h.Tokens["S002"])
	for _, k := range []*counterKiosk{a, b} {
		k.waitFor("the first report", func() bool { r := k.c.ContentState().Reported; return r != nil && r.Version == 0 })
	}

	// v1 to every store: the points of a complete visit become 4.
	v1 := h.publish(t, wire.ContentPublishRequest{Note: "完成一次服务积 4 分", All: true,
		Files: map[string]string{flows.PointsFile: embeddedText(t, flows.PointsFile, `"visit_complete": 1`, `"visit_complete": 4`)}})
	for _, k := range []*counterKiosk{a, b} {
		k.syncCycle()
		if ct := k.c.Content(); ct.Version != v1.Number || ct.Hash != v1.Hash {
			t.Fatalf("%s after one sync cycle: v%d %s, want v%d %s", k.storeID, ct.Version, ct.Hash, v1.Number, v1.Hash)
		}
		k.waitFor("the report of v1", func() bool { r := k.c.ContentState().Reported; return r != nil && r.Version == v1.Number })
		if s := h.status(t, k.storeID); s.Version != v1.Number || s.Hash != v1.Hash || s.Refused != nil {
			t.Fatalf("HQ's status of %s: %+v", k.storeID, s)
		}
	}

	// A visit opens on v1; v2 is published to the pilot S001 meanwhile.
	a.signIn()
	customers := demo.Customers()
	a.startVisit(customers[0].ID)
	open := a.visit()
	if open.Content.Version != v1.Number || open.Visit.ContentVersion != v1.Number {
		t.Fatalf("the open visit runs v%d", open.Content.Version)
	}
	oldQuestion := open.Q.Questions[0].Text
	rec := open.Recs[0]
	const newQuestion = "您是否被医生确诊过高血压、糖尿病或高血脂？"
	newTitle := rec.Title + "（新版）"
	v2 := h.publish(t, wire.ContentPublishRequest{Note: "问题改写 + 推荐标题", Stores: []string{"S001"}, Files: map[string]string{
		flows.QuestionnaireFile(flows.ClassGeneral): embeddedText(t, flows.QuestionnaireFile(flows.ClassGeneral), oldQuestion, newQuestion),
		flows.KnowledgeFile:                         retitle(t, rec.ID, newTitle)}})
	a.syncCycle()
	if s := a.c.ContentState(); s.Version != v1.Number || s.Next != v2.Number {
		t.Fatalf("S001 during the open visit: in use v%d, next v%d; want v1 then v2", s.Version, s.Next)
	}
	if vs := a.visit(); vs.Content.Version != v1.Number || vs.Recs[0].Title != rec.Title {
		t.Fatalf("the open visit changed content: v%d, recommendation %q", vs.Content.Version, vs.Recs[0].Title)
	}
	first := a.finishVisit()
	if first.ContentVersion != v1.Number || first.Recommend.Items[0].Title != rec.Title {
		t.Fatalf("the visit open during the switch recorded v%d, %q", first.ContentVersion, first.Recommend.Items[0].Title)
	}
	if a.c.Content().Version != v2.Number {
		t.Fatalf("after the visit S001 runs v%d, want v%d", a.c.Content().Version, v2.Number)
	}
	a.startVisit(customers[1].ID)
	next := a.visit()
	if next.Q.Questions[0].Text != newQuestion || next.Content.Version != v2.Number {
		t.Fatalf("the next visit (v%d) asks %q", next.Content.Version, next.Q.Questions[0].Text)
	}
	if next.Recs[0].ID != rec.ID || next.Recs[0].Title != newTitle {
		t.Fatalf("the next visit recommends %s %q, want %s %q", next.Recs[0].ID, next.Recs[0].Title, rec.ID, newTitle)
	}
	second := a.finishVisit()
	if second.ContentVersion != v2.Number {
		t.Fatalf("the next visit recorded v%d", second.ContentVersion)
	}
	a.drain()
	a.waitFor("the report of v2", func() bool { r := a.c.ContentState().Reported; return r != nil && r.Version == v2.Number })

	// At HQ: one visit under each version, each earning v1's and v2's 4 points.
	code, body := h.call(t, http.MethodGet, wire.PathCompletion+"?group_by=content_version&store_id=S001&from=2000-01-01&to=2100-01-01", h.Admin, nil)
	if code != http.StatusOK {
		t.Fatalf("completion by content version: %d %s", code, body)
	}
	var comp wire.CompletionResponse
	if err := json.Unmarshal(body, &comp); err != nil {
		t.Fatal(err)
	}
	byVersion := map[int]wire.CompletionRow{}
	for _, r := range comp.Rows {
		if r.ContentVersion == nil {
			t.Fatalf("row without content_version: %+v", r)
		}
		byVersion[*r.ContentVersion] = r
	}
	if len(byVersion) != 2 || byVersion[v1.Number].Visits != 1 || byVersion[v1.Number].Completed != 1 ||
		byVersion[v2.Number].Visits != 1 || byVersion[v2.Number].Completed != 1 {
		t.Fatalf("completion by content version: %s", body)
	}
	code, body = h.call(t, http.MethodGet, wire.PathPoints, h.Tokens["S001"], nil)
	var pts wire.PointsResponse
	if err := json.Unmarshal(body, &pts); code != http.StatusOK || err != nil || len(pts.Rows) != 1 || pts.Rows[0].Points != 8 {
		t.Fatalf("S001's points: %d %s, want 4 + 4 (v1's and v2's rules, not the built-in 1)", code, body)
	}

	// The pilot reached S001 only.
	b.syncCycle()
	if b.c.Content().Version != v1.Number {
		t.Fatalf("S002, outside the pilot, runs v%d", b.c.Content().Version)
	}

	// v2 to S002 through a proxy that flips one byte inside the pack: refused on its
	// hash, v1 kept, HQ told why.
	proxy.Set(faultproxy.FlipByteAfter("visit_complet"))
	h.assign(t, wire.ContentAssignRequest{Version: v2.Number, Stores: []string{"S002"}})
	b.syncCycle()
	if proxy.Tampered() == 0 {
		t.Fatal("the proxy altered nothing")
	}
	s := b.c.ContentState()
	if s.Version != v1.Number || s.Refused == nil || s.Refused.Version != v2.Number || s.Refused.Why.Key != "content.why_hash" {
		t.Fatalf("S002 after an altered pack: %+v (refused %+v)", s, s.Refused)
	}
	if kept, _, err := counter.LoadKeptContent(b.dir); err != nil || kept.Version != v1.Number {
		t.Fatalf("S002 keeps v%d (%v), want v1", kept.Version, err)
	}
	b.waitFor("the refusal's report", func() bool { r := b.c.ContentState().Reported; return r != nil && r.Refused != nil })
	if st := h.status(t, "S002"); st.Version != v1.Number || st.Refused == nil || st.Refused.Version != v2.Number ||
		!strings.Contains(st.Refused.Reason, "hash") {
		t.Fatalf("HQ's status of S002: %+v (refused %+v)", st, st.Refused)
	}
	// The path is clean again: the next cycle takes v2 (a corruption in transit is
	// retried, not remembered).
	proxy.Set(nil)
	b.syncCycle()
	if s := b.c.ContentState(); s.Version != v2.Number || s.Refused != nil {
		t.Fatalf("S002 on a clean path: %+v", s)
	}
	b.waitFor("the report of v2", func() bool {
		r := b.c.ContentState().Reported
		return r != nil && r.Version == v2.Number && r.Refused == nil
	})

	// Rollback: v1 to every store.
	h.assign(t, wire.ContentAssignRequest{Version: v1.Number, All: true})
	for _, k := range []*counterKiosk{a, b} {
		k.syncCycle()
		if ct := k.c.Content(); ct.Version != v1.Number || ct.Hash != v1.Hash {
			t.Fatalf("%s after the rollback: v%d", k.storeID, ct.Version)
		}
		if kept, _, err := counter.LoadKeptContent(k.dir); err != nil || kept.Version != v1.Number {
			t.Fatalf("%s keeps v%d after the rollback (%v)", k.storeID, kept.Version, err)
		}
	}
	a.startVisit(customers[2].ID)
	if q := a.visit().Q.Questions[0].Text; q != oldQuestion {
		t.Fatalf("after the rollback the counter asks %q", q)
	}

	// A broken pack never reaches a counter: publish refuses it naming file and field.
	code, body = h.call(t, http.MethodPost, wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{All: true,
		Files: map[string]string{flows.KnowledgeFile: embeddedText(t, flows.KnowledgeFile, `"miss_reason"`, `"miss_reasn"`)}})
	if code != http.StatusBadRequest || !strings.Contains(string(body), "knowledge/kb.json") || !strings.Contains(string(body), "miss_reasn") {
		t.Fatalf("broken pack: %d %s", code, body)
	}
	if st := h.status(t, "S001"); st.Version != v1.Number {
		t.Fatalf("S001 reports v%d after the refused publish", st.Version)
	}
}

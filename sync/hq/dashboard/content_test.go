package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// sendJSON posts a JSON body to the content routes with the session and a CSRF header
// (empty: none).
func sendJSON(t *testing.T, f *fixture, path string, session *http.Cookie, csrf string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	if session != nil {
		req.AddCookie(session)
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// contentFiles is the embedded pack as the editor sends it, with edits applied.
func contentFiles(t *testing.T, edits map[string][2]string) map[string]string {
	t.Helper()
	p, err := content.FromDir("../../../assets/data")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, b := range p.Files() {
		out[name] = string(b)
	}
	for name, e := range edits {
		if !strings.Contains(out[name], e[0]) {
			t.Fatalf("%s has no %q", name, e[0])
		}
		out[name] = strings.Replace(out[name], e[0], e[1], 1)
	}
	return out
}

func TestContentPageNeedsSessionAndCSRF(t *testing.T) {
	f := newFixture(t)
	c := noRedirect()
	for _, path := range []string{"/content", "/content/diff?from=0&to=0"} {
		if resp, _ := get(t, c, f.srv.URL+path); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s without a session: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, c, f.srv.URL+"/content/pack"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("pack without a session: %d", resp.StatusCode)
	}
	if code, _ := sendJSON(t, f, "/content/publish", nil, "x", map[string]any{}); code != http.StatusUnauthorized {
		t.Errorf("publish without a session: %d", code)
	}
	_, session := signIn(t, f, f.admin)
	resp, page := get(t, c, f.srv.URL+"/content", session)
	m := csrfRe.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("content page: %d", resp.StatusCode)
	}
	csrf := m[1]
	// Only the content page may run a script (its own), and call HQ from it.
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("content page CSP %q", csp)
	}
	if resp, _ := get(t, c, f.srv.URL+"/", session); strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src") {
		t.Error("the dashboard page allows scripts")
	}
	// The JSON routes want the session's CSRF token in X-CSRF-Token.
	files := contentFiles(t, nil)
	for _, tok := range []string{"", "not-the-token"} {
		if code, _ := sendJSON(t, f, "/content/publish", session, tok, wire.ContentPublishRequest{Files: files, Complete: true, All: true}); code != http.StatusForbidden {
			t.Errorf("publish with CSRF %q: %d", tok, code)
		}
	}
	if code, _ := sendJSON(t, f, "/content/validate", session, csrf, wire.ContentPublishRequest{Files: files, Complete: true}); code != 200 {
		t.Errorf("validate with the token: %d", code)
	}
	// The assign form wants the CSRF field.
	if resp, _ := post(t, c, f.srv.URL+"/content/assign", url.Values{"version": {"0"}, "target": {"all"}}, session); resp.StatusCode != http.StatusForbidden {
		t.Errorf("assign without CSRF: %d", resp.StatusCode)
	}
	if vs, _ := f.hqStore.ContentVersions(context.Background()); len(vs) != 0 {
		t.Fatalf("a refused request stored a version: %+v", vs)
	}
}

func TestContentPublishAssignDiffCompare(t *testing.T) {
	f := newFixture(t)
	c := noRedirect()
	_, session := signIn(t, f, f.admin)
	_, page := get(t, c, f.srv.URL+"/content", session)
	csrf := csrfRe.FindStringSubmatch(page)[1]
	if !strings.Contains(page, `data-version="0"`) || !strings.Contains(page, "内置默认内容") {
		t.Fatalf("version 0 missing from the page")
	}
	// The editor starts from the latest version (0).
	resp, body := get(t, c, f.srv.URL+"/content/pack", session)
	var doc content.Doc
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 || doc.Version != 0 || len(doc.Files) != 8 {
		t.Fatalf("pack: %d %v", resp.StatusCode, err)
	}
	hyp := flows.QuestionnaireFile(flows.ClassHypertension)
	// Validation names the broken field and shows the diff of a good draft.
	broken := contentFiles(t, map[string][2]string{flows.KnowledgeFile: {`"home_monitor"`, `"home_monitr"`}})
	code, out := sendJSON(t, f, "/content/validate", session, csrf, wire.ContentPublishRequest{Files: broken, Complete: true})
	var check wire.ContentCheckResponse
	if err := json.Unmarshal(out, &check); err != nil || code != 200 || len(check.Problems) != 1 || check.Problems[0].File != flows.KnowledgeFile || !strings.HasSuffix(check.Problems[0].Field, "answers.home_monitr") {
		t.Fatalf("validate broken: %d %s", code, out)
	}
	if code, out = sendJSON(t, f, "/content/publish", session, csrf, wire.ContentPublishRequest{Files: broken, Complete: true, All: true}); code != 400 || !strings.Contains(string(out), "home_monitr") {
		t.Fatalf("publish broken: %d %s", code, out)
	}
	good := contentFiles(t, map[string][2]string{hyp: {"您多久测一次血压？", "您多久量一次血压？"}})
	code, out = sendJSON(t, f, "/content/validate", session, csrf, wire.ContentPublishRequest{Files: good, Complete: true})
	check = wire.ContentCheckResponse{}
	if err := json.Unmarshal(out, &check); err != nil || code != 200 || len(check.Problems) != 0 || !strings.Contains(check.Diff.String(), "您多久量一次血压？") {
		t.Fatalf("validate good: %d %s", code, out)
	}
	// Publish to a pilot store, with the editor's name.
	code, out = sendJSON(t, f, "/content/publish", session, csrf, wire.ContentPublishRequest{Files: good, Complete: true, Note: "血压问题改写", Author: "李娜", Stores: []string{"S001"}})
	var pub wire.ContentPublishResponse
	if err := json.Unmarshal(out, &pub); err != nil || code != 200 || pub.Version.Number != 1 || pub.Version.Author != "dashboard:李娜" {
		t.Fatalf("publish: %d %s", code, out)
	}
	a, _ := f.hqStore.ContentAssignments(context.Background())
	if a.For("S001") != 1 || a.For("S002") != 0 {
		t.Fatalf("pilot: %+v", a)
	}
	// The page lists it with its pilot; the diff page shows the change in words.
	_, page = get(t, c, f.srv.URL+"/content", session)
	if !strings.Contains(page, "血压问题改写") || !strings.Contains(page, "dashboard:李娜") || !strings.Contains(page, `<span class="tag pilot">S001</span>`) {
		t.Fatalf("versions table:\n%s", page)
	}
	_, page = get(t, c, f.srv.URL+"/content/diff?from=0&to=1", session)
	if !strings.Contains(page, "问卷 · 高血压") || !strings.Contains(page, "修改</span> 问题 bp_measure（您多久量一次血压？） · text：<del>&#34;您多久测一次血压？&#34;</del> → <ins>&#34;您多久量一次血压？&#34;</ins>") {
		t.Fatalf("diff page:\n%s", page)
	}
	// To all stores by the form; then roll back to 0.
	resp, _ = post(t, c, f.srv.URL+"/content/assign", url.Values{"csrf": {csrf}, "version": {"1"}, "target": {"all"}}, session)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/content?assigned=1" {
		t.Fatalf("assign all: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if a, _ = f.hqStore.ContentAssignments(context.Background()); a.For("S003") != 1 {
		t.Fatalf("all: %+v", a)
	}
	resp, _ = post(t, c, f.srv.URL+"/content/assign", url.Values{"csrf": {csrf}, "version": {"0"}, "target": {"stores"}, "stores": {"S002，S003"}}, session)
	if a, _ = f.hqStore.ContentAssignments(context.Background()); resp.StatusCode != http.StatusSeeOther || a.For("S002") != 0 || a.For("S003") != 0 || a.For("S001") != 1 {
		t.Fatalf("rollback two stores: %+v", a)
	}
	resp, _ = post(t, c, f.srv.URL+"/content/assign", url.Values{"csrf": {csrf}, "version": {"5"}, "target": {"all"}}, session)
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=") {
		t.Fatalf("unknown version: %s", loc)
	}
	// Completion by version: visits of v1 at S001 beside the fixture's (v0) rollups.
	var batch []hq.VisitIngest
	for i := range 4 {
		v := flows.Visit{ID: fmt.Sprintf("01JQCV%020d", i), StoreID: "S001", PharmacistID: "P01", StartedAt: fixedNow.Add(-time.Hour),
			Outcome: flows.OutcomeAbandoned, ContentVersion: 1, Identify: &flows.IdentifyStep{At: fixedNow}}
		batch = append(batch, hq.VisitIngest{Visit: v})
	}
	if _, err := f.hqStore.IngestVisits(context.Background(), "S001", batch); err != nil {
		t.Fatal(err)
	}
	_, page = get(t, c, f.srv.URL+"/content", session)
	if !strings.Contains(page, `<tr data-version="1"><td>v1</td><td>血压问题改写</td><td class="num">4</td><td class="num">0</td><td class="num rate">0.0</td>`) ||
		!strings.Contains(page, `<tr data-version="0"><td>v0</td>`) {
		t.Fatalf("compare table:\n%s", page)
	}
	// The audit log names the dashboard.
	es, _ := f.hqStore.AuditEntries(context.Background(), hq.AuditQuery{Limit: 50})
	var actions []string
	for _, e := range es {
		if strings.HasPrefix(e.Action, "content.") {
			actions = append(actions, e.Actor+" "+e.Action)
		}
	}
	if strings.Join(actions, "|") != "dashboard content.assign|dashboard content.assign|dashboard:李娜 content.publish" {
		t.Fatalf("audit %v", actions)
	}
}

package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/internal/hqtest"
	"github.com/pharmachain/counter/sync/wire"
)

// embedded is content version 0 as the binaries embed it (read from the source tree:
// the sync packages do not import assets).
func embedded(t *testing.T) content.Pack {
	t.Helper()
	p, err := content.FromDir("../../../assets/data")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// getContent fetches a store's pack with an optional If-None-Match.
func getContent(t *testing.T, h *hqtest.HQ, token, etag string) (int, string, content.Doc) {
	t.Helper()
	req, _ := http.NewRequest("GET", h.URL+wire.PathContent, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d content.Doc
	if resp.StatusCode == 200 {
		if err := jsonDecode(resp, &d); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, resp.Header.Get("ETag"), d
}

func pointsFile(n int) string {
	return fmt.Sprintf(`{"visit_complete": %d, "link_opened": 2, "revisit_booked": 3}`, n)
}

func TestContentPilotAllRollback(t *testing.T) {
	def := embedded(t)
	h := hqtest.Start(t, api.Options{DefaultContent: def}, "S001", "S002", "S003")
	s1, s2, s3 := h.Tokens["S001"], h.Tokens["S002"], h.Tokens["S003"]

	// Nothing published: every store runs version 0, the kiosk's own embedded default.
	code, tag0, d := getContent(t, h, s1, "")
	if code != 200 || d.Version != 0 || len(d.Files) != 0 || tag0 == "" {
		t.Fatalf("before any publish: %d %q %+v", code, tag0, d)
	}
	if code, _, _ := getContent(t, h, s1, tag0); code != http.StatusNotModified {
		t.Fatalf("If-None-Match of the current tag: %d, want 304", code)
	}

	// v1: only the points file given; the rest comes from the latest version (0).
	code, body := h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{
		Files: map[string]string{flows.PointsFile: pointsFile(2)}, Note: "完成一次服务积 2 分", Stores: []string{"S001"}})
	if code != 200 {
		t.Fatalf("publish v1: %d %s", code, body)
	}
	v1 := decode[wire.ContentPublishResponse](t, body).Version
	if v1.Number != 1 || v1.Author != "admin" || v1.Note != "完成一次服务积 2 分" || !content.ValidHash(v1.Hash) {
		t.Fatalf("v1 %+v", v1)
	}
	// The pilot store gets v1, whole and valid; the others stay on 0.
	code, tag1, d := getContent(t, h, s1, tag0)
	if code != 200 || d.Version != 1 || d.Hash != v1.Hash || tag1 == tag0 {
		t.Fatalf("pilot store: %d %q v%d", code, tag1, d.Version)
	}
	p, err := d.Pack()
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Validate()
	if err != nil || data.Points[flows.PointsVisitComplete] != 2 || p.Len() != def.Len() {
		t.Fatalf("v1 as served: %v %v (%d files)", data.Points, err, p.Len())
	}
	for _, tok := range []string{s2, s3} {
		if _, _, d := getContent(t, h, tok, ""); d.Version != 0 {
			t.Fatalf("a store outside the pilot got v%d", d.Version)
		}
	}
	if code, _, _ := getContent(t, h, s1, tag1); code != http.StatusNotModified {
		t.Fatalf("unchanged pack: %d, want 304", code)
	}

	// To all stores; then v2 to all; then roll back to v1.
	if code, body := h.Do(t, "POST", wire.PathContentAssign, h.Admin, wire.ContentAssignRequest{Version: 1, All: true}); code != 204 {
		t.Fatalf("assign all: %d %s", code, body)
	}
	if _, _, d := getContent(t, h, s3, ""); d.Version != 1 {
		t.Fatalf("after assign all: S003 runs v%d", d.Version)
	}
	code, body = h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{
		Files: map[string]string{flows.PointsFile: pointsFile(3)}, All: true, Author: "运营 李"})
	if code != 200 {
		t.Fatalf("publish v2: %d %s", code, body)
	}
	if v := decode[wire.ContentPublishResponse](t, body).Version; v.Number != 2 || v.Author != "运营 李" {
		t.Fatalf("v2 %+v", v)
	}
	if _, _, d := getContent(t, h, s2, ""); d.Version != 2 {
		t.Fatalf("v2 to all: S002 runs v%d", d.Version)
	}
	if code, body := h.Do(t, "POST", wire.PathContentAssign, h.Admin, wire.ContentAssignRequest{Version: 1, All: true}); code != 204 {
		t.Fatalf("rollback: %d %s", code, body)
	}
	for _, tok := range []string{s1, s2, s3} {
		if _, _, d := getContent(t, h, tok, ""); d.Version != 1 || d.Hash != v1.Hash {
			t.Fatalf("after rollback: v%d", d.Version)
		}
	}
	if code, _ := h.Do(t, "POST", wire.PathContentAssign, h.Admin, wire.ContentAssignRequest{Version: 9, All: true}); code != 404 {
		t.Fatalf("assign an unknown version: %d, want 404", code)
	}

	// Diff and list.
	code, body = h.Do(t, "GET", wire.PathContentDiff+"?from=1&to=2", h.Admin, nil)
	diff := decode[content.Diff](t, body)
	if code != 200 || len(diff.Files) != 1 || !strings.Contains(diff.String(), "~ rule visit_complete: 2 → 3") {
		t.Fatalf("diff: %d %s", code, diff)
	}
	code, body = h.Do(t, "GET", wire.PathContentDiff+"?from=0&to=1", h.Admin, nil)
	if code != 200 || !strings.Contains(decode[content.Diff](t, body).String(), "visit_complete: 1 → 2") {
		t.Fatalf("diff from 0: %d %s", code, body)
	}
	code, body = h.Do(t, "GET", wire.PathContentVersions, h.Admin, nil)
	list := decode[wire.ContentListResponse](t, body)
	if code != 200 || len(list.Versions) != 3 || list.Versions[0].Number != 2 || list.Versions[2].Number != 0 || !list.Versions[1].Default {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = h.Do(t, "GET", "/api/v1/content/versions/0", h.Admin, nil)
	if d := decode[content.Doc](t, body); code != 200 || d.Hash != def.Hash() || len(d.Files) != def.Len() {
		t.Fatalf("version 0: %d", code)
	}

	// Store tokens may not manage content; an admin must name the store.
	for _, c := range []struct{ method, path string }{
		{"GET", wire.PathContentVersions}, {"POST", wire.PathContentVersions}, {"POST", wire.PathContentAssign},
		{"GET", "/api/v1/content/versions/1"}, {"GET", wire.PathContentDiff + "?from=0&to=1"}, {"POST", wire.PathContentValidate},
	} {
		if code, _ := h.Do(t, c.method, c.path, s1, `{}`); code != 403 {
			t.Errorf("%s %s with a store token: %d, want 403", c.method, c.path, code)
		}
	}
	if code, _ := h.Do(t, "GET", wire.PathContent, h.Admin, nil); code != 400 {
		t.Errorf("admin without store_id: %d", code)
	}
	if code, body := h.Do(t, "GET", wire.PathContent+"?store_id=S002", h.Admin, nil); code != 200 || decode[content.Doc](t, body).Version != 1 {
		t.Errorf("admin with store_id: %d %s", code, body)
	}
	if code, _ := h.Do(t, "GET", wire.PathContent+"?store_id=S002", s1, nil); code != 403 {
		t.Errorf("a store reading another's content: %d", code)
	}
}

func TestContentPublishRefusesBrokenPack(t *testing.T) {
	def := embedded(t)
	h := hqtest.Start(t, api.Options{DefaultContent: def}, "S001")
	kb, _ := def.File(flows.KnowledgeFile)
	bad := strings.Replace(string(kb), `"home_monitor"`, `"home_monitr"`, 1)
	code, body := h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{
		Files: map[string]string{flows.KnowledgeFile: bad}, All: true})
	pr := decode[wire.ContentProblemsResponse](t, body)
	if code != 400 || len(pr.Problems) != 1 || pr.Problems[0].File != flows.KnowledgeFile ||
		!strings.HasSuffix(pr.Problems[0].Field, ".answers.home_monitr") || !strings.Contains(pr.Error, "knowledge/kb.json: field items[") {
		t.Fatalf("broken pack: %d %s", code, body)
	}
	// Several broken files: every one named.
	code, body = h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{
		Files: map[string]string{flows.KnowledgeFile: bad, flows.PointsFile: `{"visit_complete": 1, "visit_complete": 2}`}})
	if pr := decode[wire.ContentProblemsResponse](t, body); code != 400 || len(pr.Problems) != 2 || pr.Problems[0].File != flows.PointsFile || pr.Problems[0].Line != 1 || pr.Problems[1].File != flows.KnowledgeFile {
		t.Fatalf("two broken files: %d %s", code, body)
	}
	code, body = h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{Files: map[string]string{"fonts/x.json": "{}"}})
	if code != 400 || !strings.Contains(string(body), "fonts/x.json") {
		t.Fatalf("non-data file: %d %s", code, body)
	}
	code, body = h.Do(t, "POST", wire.PathContentVersions, h.Admin, `{"files":{},"stores":["S 1"]}`)
	if code != 400 || !strings.Contains(string(body), "not a store id") {
		t.Fatalf("bad store id: %d %s", code, body)
	}
	code, body = h.Do(t, "POST", wire.PathContentVersions, h.Admin, `{"files":{},"note":"x","extra":1}`)
	if code != 400 || !strings.Contains(string(body), "extra") {
		t.Fatalf("unknown request field: %d %s", code, body)
	}
	// A complete pack must be complete.
	code, body = h.Do(t, "POST", wire.PathContentVersions, h.Admin, wire.ContentPublishRequest{Complete: true, Files: map[string]string{flows.PointsFile: pointsFile(1)}})
	if code != 400 || !strings.Contains(string(body), "catalog/drugs.json: missing") {
		t.Fatalf("incomplete complete pack: %d %s", code, body)
	}
	// Nothing was stored.
	_, body = h.Do(t, "GET", wire.PathContentVersions, h.Admin, nil)
	if l := decode[wire.ContentListResponse](t, body); len(l.Versions) != 1 {
		t.Fatalf("a refused publish stored a version: %s", body)
	}
	// Validate answers the same problems without storing, and the diff of a good draft.
	code, body = h.Do(t, "POST", wire.PathContentValidate, h.Admin, wire.ContentPublishRequest{Files: map[string]string{flows.KnowledgeFile: bad}})
	if c := decode[wire.ContentCheckResponse](t, body); code != 200 || len(c.Problems) != 1 || c.Base != 0 {
		t.Fatalf("validate broken: %d %s", code, body)
	}
	code, body = h.Do(t, "POST", wire.PathContentValidate, h.Admin, wire.ContentPublishRequest{Files: map[string]string{flows.PointsFile: pointsFile(4)}})
	if c := decode[wire.ContentCheckResponse](t, body); code != 200 || len(c.Problems) != 0 || !strings.Contains(c.Diff.String(), "visit_complete: 1 → 4") || !content.ValidHash(c.Hash) {
		t.Fatalf("validate good: %d %s", code, body)
	}
}

func TestContentStatusReports(t *testing.T) {
	h := hqtest.Start(t, api.Options{DefaultContent: embedded(t)}, "S001", "S002")
	code, body := h.Do(t, "POST", wire.PathContentStatus, h.Tokens["S001"], wire.ContentStatusRequest{Version: 0,
		Refused: &wire.ContentRefusal{Version: 3, Hash: "sha256:" + strings.Repeat("0", 64), Reason: "content hash mismatch"}})
	if code != 204 {
		t.Fatalf("report: %d %s", code, body)
	}
	if code, _ := h.Do(t, "POST", wire.PathContentStatus, h.Tokens["S002"], wire.ContentStatusRequest{Version: 0}); code != 204 {
		t.Fatal(code)
	}
	_, body = h.Do(t, "GET", wire.PathContentVersions, h.Admin, nil)
	l := decode[wire.ContentListResponse](t, body)
	if len(l.Statuses) != 2 || l.Statuses[0].StoreID != "S001" || l.Statuses[0].Refused == nil || l.Statuses[0].Refused.Reason != "content hash mismatch" ||
		l.Statuses[0].Refused.At.IsZero() || l.Statuses[0].At.IsZero() {
		t.Fatalf("statuses: %s", body)
	}
	if row := l.Versions[len(l.Versions)-1]; row.Number != 0 || strings.Join(row.Running, ",") != "S001,S002" || !row.Default {
		t.Fatalf("version 0 row: %+v", row)
	}
	if code, _ := h.Do(t, "POST", wire.PathContentStatus, h.Admin, wire.ContentStatusRequest{}); code != 403 {
		t.Errorf("admin report: %d", code)
	}
	if code, _ := h.Do(t, "POST", wire.PathContentStatus, h.Tokens["S001"], `{"version":1,"running":true}`); code != 400 {
		t.Errorf("unknown field: %d", code)
	}
	if code, _ := h.Do(t, "POST", wire.PathContentStatus, h.Tokens["S001"], `{"version":-1}`); code != 400 {
		t.Errorf("negative version: %d", code)
	}
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func TestCompletionByContentVersion(t *testing.T) {
	h := hqtest.Start(t, api.Options{}, "S001")
	var vs []flows.Visit
	for i, c := range []struct {
		version  int
		complete bool
	}{{0, true}, {0, false}, {1, true}, {1, true}, {1, false}, {12, true}} {
		v := hqtest.Visit(fmt.Sprintf("cv%d", i), "S001", "P01", day1.Add(time.Duration(i)*time.Minute), c.complete)
		v.ContentVersion = c.version
		vs = append(vs, v)
	}
	if code, body := h.Do(t, "POST", wire.PathRecords, h.Tokens["S001"], batch("S001", vs...)); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	code, body := h.Do(t, "GET", wire.PathCompletion+"?group_by=content_version", h.Tokens["S001"], nil)
	rows := decode[wire.CompletionResponse](t, body).Rows
	if code != 200 || len(rows) != 3 || rows[0].Key != "0" || *rows[0].ContentVersion != 0 || rows[1].Key != "1" || rows[1].Visits != 3 || rows[1].Completed != 2 ||
		rows[1].Rate != 66.67 || rows[2].Key != "12" || *rows[2].ContentVersion != 12 {
		t.Fatalf("by content version: %d %s", code, body)
	}
	if !strings.Contains(string(body), `"content_version":0`) {
		t.Errorf("version 0 must be stated: %s", body)
	}
	// Other groupings carry no content version.
	_, body = h.Do(t, "GET", wire.PathCompletion+"?group_by=store", h.Tokens["S001"], nil)
	if strings.Contains(string(body), "content_version") {
		t.Errorf("by store: %s", body)
	}
	if code, body := h.Do(t, "GET", wire.PathCompletion+"?group_by=version", h.Tokens["S001"], nil); code != 400 || !strings.Contains(string(body), "content_version") {
		t.Errorf("unknown group_by: %d %s", code, body)
	}
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// newHQDir makes a stopped HQ's data directory (hq.db exists, nothing published).
func newHQDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// contentDir writes a content folder holding the given files (path → text).
func contentDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func points(n string) map[string]string {
	return map[string]string{flows.PointsFile: `{"visit_complete": ` + n + `, "link_opened": 2, "revisit_booked": 3, "daily_cap": {"link_opened": 40, "revisit_booked": 60}}`}
}

// embeddedFile is one file of the embedded content.
func embeddedFile(t *testing.T, name string) string {
	t.Helper()
	p, err := embeddedContent()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := p.File(name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return string(b)
}

func TestContentUsage(t *testing.T) {
	for _, args := range [][]string{
		{"content"},
		{"content", "rewind"},
		{"content", "publish", "--data", "x"}, // no --from
		{"content", "publish", "--from", "x"}, // no target
		{"content", "publish", "--from", "x", "--data", "d", "--hq", "http://h"}, // both targets
		{"content", "publish", "--from", "x", "--data", "d", "--stores", "S001", "--all"},
		{"content", "diff", "1", "--data", "d"},
		{"content", "diff", "1", "x", "--data", "d"},
		{"content", "assign", "--all", "--data", "d"},
		{"content", "assign", "2", "--data", "d"},
		{"content", "assign", "-1", "--all", "--data", "d"},
		{"content", "list", "--hq", "http://h"}, // no token
	} {
		if code, _, errs := runHQ(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
}

// TestContentOnline runs every content verb against a running HQ (--hq URL --token):
// publish to a pilot, the kiosk's view, list, diff, assign to all, rollback, and a
// broken pack refused with the field named.
func TestContentOnline(t *testing.T) {
	s := startDemoServe(t, t.TempDir(), 0)
	remote := []string{"--hq", s.base, "--token", DemoAdminToken}
	code, out, errs := runHQ(t, append([]string{"content", "publish", "--from", contentDir(t, points("4")), "--note", "试点：完成积 4 分", "--stores", DemoStoreID}, remote...)...)
	if code != 0 || out != "1\n" || !strings.Contains(errs, "assigned to [S001]") {
		t.Fatalf("publish: %d %q %q", code, out, errs)
	}
	// The pilot store's kiosk gets version 1.
	doc := func() content.Doc {
		req, _ := http.NewRequest("GET", s.base+wire.PathContent, nil)
		req.Header.Set("Authorization", "Bearer "+DemoStoreToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d content.Doc
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := doc(); d.Version != 1 || !strings.Contains(d.Files[flows.PointsFile], `"visit_complete": 4`) {
		t.Fatalf("pilot store's pack: v%d", d.Version)
	}
	code, out, _ = runHQ(t, append([]string{"content", "publish", "--from", contentDir(t, points("5")), "--note", "v2"}, remote...)...)
	if code != 0 || out != "2\n" {
		t.Fatalf("publish v2: %d %q", code, out)
	}
	code, out, _ = runHQ(t, append([]string{"content", "list"}, remote...)...)
	if code != 0 || !strings.Contains(out, "试点：完成积 4 分") || !strings.Contains(out, "admin:demo") || !regexpLine(out, `^1 .* S001 `) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = runHQ(t, append([]string{"content", "diff", "1", "2"}, remote...)...)
	if code != 0 || !strings.Contains(out, "~ rule visit_complete: 4 → 5") {
		t.Fatalf("diff: %d %q", code, out)
	}
	if code, out, _ = runHQ(t, append([]string{"content", "assign", "2", "--all"}, remote...)...); code != 0 || out != "version 2 assigned to every store\n" {
		t.Fatalf("assign: %d %q", code, out)
	}
	if d := doc(); d.Version != 2 {
		t.Fatalf("after assign all: v%d", d.Version)
	}
	if code, _, _ = runHQ(t, append([]string{"content", "assign", "1", "--all"}, remote...)...); code != 0 || doc().Version != 1 {
		t.Fatalf("rollback: %d", code)
	}
	if code, _, errs = runHQ(t, append([]string{"content", "assign", "9", "--all"}, remote...)...); code != 1 || !strings.Contains(errs, "404") {
		t.Fatalf("unknown version: %d %q", code, errs)
	}
	// A broken pack: refused, every problem named, nothing published.
	kb := strings.Replace(embeddedFile(t, flows.KnowledgeFile), `"home_monitor"`, `"home_monitr"`, 1)
	code, out, errs = runHQ(t, append([]string{"content", "publish", "--from", contentDir(t, map[string]string{flows.KnowledgeFile: kb}), "--all"}, remote...)...)
	if code != 1 || out != "" || !strings.Contains(errs, "knowledge/kb.json: field items[") || !strings.Contains(errs, `.answers.home_monitr`) || !strings.Contains(errs, "nothing was published") {
		t.Fatalf("broken pack: %d %q %q", code, out, errs)
	}
	s.stop(t)
}

func regexpLine(text, pattern string) bool {
	for _, l := range strings.Split(text, "\n") {
		if ok, _ := regexpMatch(pattern, l); ok {
			return true
		}
	}
	return false
}

func regexpMatch(pattern, s string) (bool, error) { return regexp.MatchString(pattern, s) }

func hqAuditAll() hq.AuditQuery { return hq.AuditQuery{Limit: 100} }

package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

func TestContentPublishOffline(t *testing.T) {
	dir := newHQDir(t)
	src := contentDir(t, points("2"))
	code, out, errs := runHQ(t, "content", "publish", "--data", dir, "--from", src, "--note", "积分调整", "--author", "运营 王")
	if code != 0 || out != "1\n" || !strings.Contains(errs, "not assigned yet") {
		t.Fatalf("publish: %d %q %q", code, out, errs)
	}
	st, err := boltstore.Open(dir+"/"+DBFile, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, p, err := st.ContentPack(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// The files --from lacks came from the latest version (the embedded one).
	emb, _ := embeddedContent()
	if v.Author != "运营 王" || v.Note != "积分调整" || p.Len() != emb.Len() {
		t.Fatalf("version 1: %+v, %d files", v, p.Len())
	}
	d, err := p.Validate()
	if err != nil || d.Points[flows.PointsVisitComplete] != 2 {
		t.Fatalf("version 1 data: %v", err)
	}
	st.Close()

	// A stray file in a data folder, a broken file: refused before anything is stored.
	code, _, errs = runHQ(t, "content", "publish", "--data", dir, "--from", contentDir(t, map[string]string{"knowledge/kb.json.bak": "{}"}))
	if code != 1 || !strings.Contains(errs, "knowledge/kb.json.bak: not a data file") {
		t.Fatalf("stray file: %d %q", code, errs)
	}
	code, _, errs = runHQ(t, "content", "publish", "--data", dir, "--from", contentDir(t, map[string]string{flows.PointsFile: `{"visit_complete": 1,}`}), "--all")
	if code != 1 || !strings.Contains(errs, "rules/points.json:1: not valid JSON") {
		t.Fatalf("broken file: %d %q", code, errs)
	}
	code, _, errs = runHQ(t, "content", "publish", "--data", dir, "--from", t.TempDir())
	if code != 1 || !strings.Contains(errs, "holds no content files") {
		t.Fatalf("empty folder: %d %q", code, errs)
	}
	// Pilots at publish time.
	code, out, _ = runHQ(t, "content", "publish", "--data", dir, "--from", contentDir(t, points("3")), "--stores", "S001, S002")
	if code != 0 || out != "2\n" {
		t.Fatalf("publish to pilots: %d %q", code, out)
	}
	if st, err = boltstore.Open(dir+"/"+DBFile, boltstore.Options{}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, _ := st.ContentAssignments(context.Background())
	if a.For("S001") != 2 || a.For("S002") != 2 || a.For("S003") != 0 {
		t.Fatalf("assignments %+v", a)
	}
	if vs, _ := st.ContentVersions(context.Background()); len(vs) != 2 {
		t.Fatalf("refused publishes stored something: %+v", vs)
	}
}

package content

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
)

// The embedded defaults live in ../../assets/data; flows must not import assets, so the
// tests read the same files from disk.
func embedded(t testing.TB) Pack {
	t.Helper()
	p, err := FromFS(os.DirFS("../../assets/data"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// edit returns p with one replacement made in one file; the text must be there.
func edit(t testing.TB, p Pack, name, old, new string) Pack {
	t.Helper()
	b, ok := p.File(name)
	if !ok || !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", name, old)
	}
	q, err := p.With(name, []byte(strings.Replace(string(b), old, new, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestEmbeddedPack(t *testing.T) {
	p := embedded(t)
	if p.Len() != 8 {
		t.Errorf("embedded pack has %d files: %v", p.Len(), p.Names())
	}
	for _, want := range flows.RequiredDataFiles() {
		if _, ok := p.File(want); !ok {
			t.Errorf("embedded pack lacks %s", want)
		}
	}
	d, err := p.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if d.Messages.Reminder == "" || d.Messages.LinkTitle == "" || len(d.Knowledge.Items) < 10 {
		t.Errorf("validated data %+v", d.Messages)
	}
	if h := p.Hash(); !ValidHash(h) || h != embedded(t).Hash() {
		t.Errorf("hash %q not stable", h)
	}
}

func TestHashCanonical(t *testing.T) {
	// The documented form, computed independently:
	// printf 'pharmachain content pack v1\nknowledge/kb.json\n0\n\nrules/points.json\n2\n{}\n' | sha256sum
	p, err := New(map[string][]byte{flows.PointsFile: []byte("{}"), flows.KnowledgeFile: nil})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Hash(), "sha256:6bc36fed8f56292e6badab138ba04962b11cba63009f35209d4104537e2d8cc9"; got != want {
		t.Errorf("hash %s, want %s", got, want)
	}
	// Any byte, any name changes it; map order does not.
	e := embedded(t)
	h := e.Hash()
	if edit(t, e, flows.PointsFile, "1", "2").Hash() == h {
		t.Error("changed byte, same hash")
	}
	if e.Without(flows.QuestionnaireFile(flows.ClassDiabetes)).Hash() == h {
		t.Error("removed file, same hash")
	}
	for range 5 {
		q, _ := New(e.Files())
		if q.Hash() != h || !q.Equal(e) {
			t.Fatal("hash depends on map order")
		}
	}
	// A file's bytes cannot run into the next file's name.
	a, _ := New(map[string][]byte{flows.PointsFile: []byte("ab"), flows.MessagesFile: []byte("c")})
	b, _ := New(map[string][]byte{flows.PointsFile: []byte("a"), flows.MessagesFile: []byte("bc")})
	if a.Hash() == b.Hash() {
		t.Error("length prefix missing")
	}
}

func TestPackIsAValue(t *testing.T) {
	e := embedded(t)
	h := e.Hash()
	files := e.Files()
	files[flows.PointsFile][0] = 'X'
	b, _ := e.File(flows.PointsFile)
	b[0] = 'Y'
	_ = e.Without(flows.PointsFile)
	_, _ = e.With(flows.PointsFile, []byte("{}"))
	if e.Hash() != h {
		t.Fatal("a pack changed through a copy")
	}
	if _, err := e.With("fonts/x.ttf", nil); err == nil {
		t.Error("With accepted a non-data file")
	}
	if _, err := New(map[string][]byte{"questionnaires/asthma.json": nil}); err == nil {
		t.Error("New accepted a non-data file")
	}
}

func TestOverlayTakesMissingFilesFromBase(t *testing.T) {
	base := embedded(t)
	top, _ := New(map[string][]byte{flows.PointsFile: []byte(`{"visit_complete": 2, "link_opened": 2, "revisit_booked": 3}`)})
	got := base.Overlay(top)
	if got.Len() != base.Len() {
		t.Fatalf("overlay has %d files, want %d", got.Len(), base.Len())
	}
	for _, n := range base.Names() {
		want, _ := base.File(n)
		if n == flows.PointsFile {
			want, _ = top.File(n)
		}
		if b, _ := got.File(n); string(b) != string(want) {
			t.Errorf("%s: wrong source", n)
		}
	}
	d, err := got.Validate()
	if err != nil || d.Points[flows.PointsVisitComplete] != 2 {
		t.Fatalf("overlay: %v %v", d.Points, err)
	}
}

func TestValidateNamesFileAndField(t *testing.T) {
	p := edit(t, embedded(t), flows.KnowledgeFile, `"home_monitor"`, `"home_monitr"`)
	_, err := p.Validate()
	des := flows.DataErrors(err)
	if len(des) != 1 || des[0].File != flows.KnowledgeFile || !strings.HasSuffix(des[0].Field, ".answers.home_monitr") {
		t.Fatalf("unknown question: %v", err)
	}
}

func TestDocRoundTripAndTamper(t *testing.T) {
	p := embedded(t)
	doc := p.Doc(3)
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var back Doc
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	q, err := back.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != 3 || !q.Equal(p) || back.Hash != p.Hash() {
		t.Fatal("round trip changed the pack")
	}
	// Altered in transit: one character of one file.
	bad := back
	bad.Files = map[string]string{}
	for n, s := range back.Files {
		bad.Files[n] = s
	}
	bad.Files[flows.PointsFile] = strings.Replace(bad.Files[flows.PointsFile], "3", "30", 1)
	if _, err := bad.Pack(); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("tampered file: %v", err)
	}
	// A file dropped.
	delete(bad.Files, flows.PointsFile)
	if _, err := bad.Pack(); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("dropped file: %v", err)
	}
	for _, d := range []Doc{
		{Version: 1, Hash: "md5:abc", Files: back.Files},
		{Version: -1, Hash: back.Hash, Files: back.Files},
		{Version: 1, Hash: back.Hash, Files: map[string]string{"../etc/passwd": "x"}},
		{Version: 1, Hash: back.Hash, Files: map[string]string{flows.PointsFile: "\xff"}},
	} {
		if _, err := d.Pack(); err == nil || errors.Is(err, ErrHashMismatch) {
			t.Errorf("doc %v %q: %v", d.Version, d.Hash, err)
		}
	}
}

func TestWriteDirFromDir(t *testing.T) {
	p := embedded(t)
	dir := t.TempDir()
	if err := p.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	q, err := FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Equal(p) {
		t.Fatal("written and read back differs")
	}
	if _, err := FromDir(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing folder accepted")
	}
	if _, err := FromDir(filepath.Join(dir, flows.PointsFile)); err == nil {
		t.Error("a file accepted as the folder")
	}
}

package counter

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/sync/wire"
)

// embeddedFile is one file of the content built into the kiosk, with old replaced by
// new (the test fails when old is not in it).
func embeddedFile(t *testing.T, name, old, new string) string {
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

// adminCall sends an admin request to the demo HQ and decodes its answer into out.
func adminCall(t *testing.T, base, method, path string, in, out any) {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, base+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+demo.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e wire.ErrorResponse
		_ = json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// syncCycle runs one sync cycle and waits until its content pull finished.
func (r *rig) syncCycle() {
	r.t.Helper()
	n := r.c.ContentState().Pulls
	r.c.SyncHQ()
	r.waitFor("the content pull", func() bool { return r.c.ContentState().Pulls > n })
	r.settle()
}

// statusAtHQ is what HQ keeps of the demo store's kiosk's content reports.
func (r *rig) statusAtHQ() wire.ContentStatus {
	r.t.Helper()
	var l wire.ContentListResponse
	adminCall(r.t, r.hq.URL, http.MethodGet, wire.PathContentVersions, nil, &l)
	for _, s := range l.Statuses {
		if s.StoreID == demo.StoreID {
			return s
		}
	}
	return wire.ContentStatus{Version: -1}
}

// The kiosk pulls the pack HQ assigns at start and every sync cycle, keeps it in its
// data directory, starts on it after a restart without HQ, and follows a rollback to
// the built-in content; HQ hears what it runs.
func TestContentPulledKeptAndRolledBack(t *testing.T) {
	r := newRig(t, rigOpts{hq: true})
	r.waitFor("the first status report", func() bool { return r.c.ContentState().Reported != nil })
	if s := r.c.ContentState(); s.Version != 0 || s.Refused != nil || s.Reported.Version != 0 || s.Reported.Hash != r.embedded.Hash {
		t.Fatalf("at start with nothing published: %+v (reported %+v)", s, s.Reported)
	}
	if st := r.statusAtHQ(); st.Version != 0 || st.Hash != r.embedded.Hash {
		t.Fatalf("HQ has %+v", st)
	}
	// Nothing new: the next cycle is a 304 and changes nothing.
	r.syncCycle()
	if _, err := os.Stat(KeptContentPath(r.dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a pack is kept for version 0: %v", err)
	}

	const newText = "您一般多久量一次血压？"
	var pub wire.ContentPublishResponse
	adminCall(t, r.hq.URL, http.MethodPost, wire.PathContentVersions, wire.ContentPublishRequest{
		Files: map[string]string{flows.QuestionnaireFile(flows.ClassHypertension): embeddedFile(t, "questionnaires/hypertension.json", "您多久测一次血压？", newText)},
		Note:  "问题改写", Stores: []string{demo.StoreID}}, &pub)
	if pub.Version.Number != 1 {
		t.Fatalf("published %+v", pub.Version)
	}
	r.syncCycle()
	ct := r.c.Content()
	if ct.Version != 1 || ct.Hash != pub.Version.Hash {
		t.Fatalf("after one sync cycle the kiosk runs v%d %s, want v1 %s", ct.Version, ct.Hash, pub.Version.Hash)
	}
	if q := ct.Data.Questionnaires.For(flows.ClassHypertension); q.Questions[0].Text != newText {
		t.Fatalf("the new content's first question: %q", q.Questions[0].Text)
	}
	r.waitFor("the report of v1", func() bool { s := r.c.ContentState().Reported; return s != nil && s.Version == 1 })
	if st := r.statusAtHQ(); st.Version != 1 || st.Hash != pub.Version.Hash || st.Refused != nil {
		t.Fatalf("HQ has %+v", st)
	}

	// Restart with HQ unreachable: the kept pack is in use from the start.
	r.c.Close()
	if err := r.st.Close(); err != nil {
		t.Fatal(err)
	}
	kept, tag, err := StartContent(r.dir, r.embedded)
	if err != nil || kept.Version != 1 || kept.Hash != pub.Version.Hash || tag == "" {
		t.Fatalf("kept pack: v%d %s tag %q, %v", kept.Version, kept.Hash, tag, err)
	}
	off := newRig(t, rigOpts{dataDir: r.dir, hqDown: true, content: &kept, contentTag: tag})
	off.syncCycle()
	if off.c.Content().Version != 1 {
		t.Fatalf("offline restart runs v%d", off.c.Content().Version)
	}
	off.signIn(1, "1234")
	off.scan(demo.Customers()[2].ID)
	off.loaded()
	off.key(KeyEnter)
	off.mustBe(ScreenQuestionnaire)
	if vs := off.vs(); vs.Q.Questions[0].Text != newText || vs.Visit.ContentVersion != 1 {
		t.Fatalf("offline visit on v%d asks %q", vs.Visit.ContentVersion, vs.Q.Questions[0].Text)
	}
	off.c.Close()
	if err := off.st.Close(); err != nil {
		t.Fatal(err)
	}

	// Back online with the kept pack: the first pull is a 304 (HQ still assigns v1),
	// then HQ rolls the store back to the built-in content.
	on := newRig(t, rigOpts{dataDir: r.dir, content: &kept, contentTag: tag, useHQ: r.hq})
	on.syncCycle()
	if s := on.c.ContentState(); s.Version != 1 || s.Refused != nil {
		t.Fatalf("back online: %+v", s)
	}
	adminCall(t, r.hq.URL, http.MethodPost, wire.PathContentAssign, wire.ContentAssignRequest{Version: 0, Stores: []string{demo.StoreID}}, nil)
	on.syncCycle()
	if ct := on.c.Content(); ct.Version != 0 || ct.Hash != on.embedded.Hash {
		t.Fatalf("rolled back to v%d %s", ct.Version, ct.Hash)
	}
	if _, err := os.Stat(KeptContentPath(r.dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the kept pack survived the rollback to the built-in content: %v", err)
	}
	if ct, _, err := StartContent(r.dir, on.embedded); err != nil || ct.Version != 0 {
		t.Fatalf("a restart after the rollback would run v%d (%v)", ct.Version, err)
	}
	on.waitFor("the report of v0", func() bool { s := on.c.ContentState().Reported; return s != nil && s.Version == 0 })
}

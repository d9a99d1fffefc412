package storetest

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
)

// pack is a small content pack whose points file says n (the store never validates).
func pack(t *testing.T, n string) content.Pack {
	t.Helper()
	p, err := content.New(map[string][]byte{
		flows.PointsFile:   []byte(`{"visit_complete": ` + n + `, "link_opened": 2, "revisit_booked": 3}`),
		flows.MessagesFile: []byte("\xef\xbb\xbf{\"reminder\": \"提醒\",\r\n \"link_title\": \"t\", \"link_desc\": \"d\"}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func contentStore(t *testing.T, open Opener) {
	t.Run("PublishNumbersAndKeepsVersions", func(t *testing.T) {
		st := open(t)
		if vs, err := st.ContentVersions(bg()); err != nil || len(vs) != 0 {
			t.Fatalf("fresh store: %v %v", vs, err)
		}
		p1, p2 := pack(t, "1"), pack(t, "2")
		v1, err := st.PublishContent(bg(), hq.ContentPublish{Pack: p1, Author: "ops-li", Note: "首版", At: t0})
		if err != nil {
			t.Fatal(err)
		}
		v2, err := st.PublishContent(bg(), hq.ContentPublish{Pack: p2, Author: "ops-wang", At: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if v1.Number != 1 || v2.Number != 2 || v1.Hash != p1.Hash() || v2.Hash != p2.Hash() || v1.Author != "ops-li" || v1.Note != "首版" || !v1.At.Equal(t0) {
			t.Fatalf("published %+v %+v", v1, v2)
		}
		got, gp, err := st.ContentPack(bg(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.Number != 1 || got.Hash != p1.Hash() || got.Author != "ops-li" || got.Note != "首版" || !got.At.Equal(t0) {
			t.Errorf("version 1 reads back as %+v", got)
		}
		// The files come back byte for byte (a BOM and a CRLF included).
		if !gp.Equal(p1) || gp.Len() != 2 {
			t.Errorf("version 1's files changed: %v", gp.Names())
		}
		vs, err := st.ContentVersions(bg())
		if err != nil || len(vs) != 2 || vs[0].Number != 1 || vs[1].Number != 2 || vs[1].Author != "ops-wang" || !vs[1].At.Equal(t0.Add(time.Hour)) {
			t.Fatalf("versions %+v %v", vs, err)
		}
		// Publishing the same files again is a new version: versions are history.
		v3, err := st.PublishContent(bg(), hq.ContentPublish{Pack: p1, Author: "ops-li", At: t0})
		if err != nil || v3.Number != 3 || v3.Hash != v1.Hash {
			t.Fatalf("republish: %+v %v", v3, err)
		}
		for _, n := range []int{0, -1, 4} {
			if _, _, err := st.ContentPack(bg(), n); !errors.Is(err, hq.ErrNotFound) {
				t.Errorf("ContentPack(%d): %v, want ErrNotFound", n, err)
			}
		}
	})
	t.Run("ConcurrentPublishesGetConsecutiveNumbers", func(t *testing.T) {
		st := open(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[int]bool{}
		for i := range 8 {
			wg.Go(func() {
				v, err := st.PublishContent(bg(), hq.ContentPublish{Pack: pack(t, string(rune('1'+i))), Author: "a", At: t0})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[v.Number] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		for n := 1; n <= 8; n++ {
			if !seen[n] {
				t.Errorf("numbers %v: %d missing", seen, n)
			}
		}
	})
	t.Run("PublishRefusesInvalid", func(t *testing.T) {
		st := open(t)
		for name, p := range map[string]hq.ContentPublish{
			"empty pack":          {Author: "a", At: t0},
			"no author":           {Pack: pack(t, "1"), At: t0},
			"all and stores":      {Pack: pack(t, "1"), Author: "a", At: t0, Assign: hq.ContentAssign{All: true, Stores: []string{"S001"}}},
			"empty store in list": {Pack: pack(t, "1"), Author: "a", At: t0, Assign: hq.ContentAssign{Stores: []string{"S001", ""}}},
		} {
			if _, err := st.PublishContent(bg(), p); !errors.Is(err, hq.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if vs, _ := st.ContentVersions(bg()); len(vs) != 0 {
			t.Errorf("a refused publish stored %+v", vs)
		}
	})
	t.Run("PilotAllRollback", func(t *testing.T) {
		st := open(t)
		a, err := st.ContentAssignments(bg())
		if err != nil || a.For("S001") != content.DefaultVersion {
			t.Fatalf("fresh: %+v %v", a, err)
		}
		// v1 to every store, then v2 to two pilots in the same commit as the publish.
		if _, err := st.PublishContent(bg(), hq.ContentPublish{Pack: pack(t, "1"), Author: "a", At: t0, Assign: hq.ContentAssign{All: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PublishContent(bg(), hq.ContentPublish{Pack: pack(t, "2"), Author: "a", At: t0, Assign: hq.ContentAssign{Stores: []string{"S001", "S002"}}}); err != nil {
			t.Fatal(err)
		}
		a, _ = st.ContentAssignments(bg())
		if a.For("S001") != 2 || a.For("S002") != 2 || a.For("S003") != 1 || a.Default != 1 {
			t.Fatalf("pilot: %+v", a)
		}
		// Roll one pilot back to v1, another store to the embedded default.
		if err := st.AssignContent(bg(), hq.ContentAssign{Version: 1, Stores: []string{"S002"}, By: "ops", At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := st.AssignContent(bg(), hq.ContentAssign{Version: 0, Stores: []string{"S009"}, By: "ops", At: t0}); err != nil {
			t.Fatal(err)
		}
		a, _ = st.ContentAssignments(bg())
		if a.For("S001") != 2 || a.For("S002") != 1 || a.For("S009") != 0 || a.For("S003") != 1 {
			t.Fatalf("rollback: %+v", a)
		}
		if ids := a.StoreIDs(); len(ids) != 3 || ids[0] != "S001" || ids[2] != "S009" {
			t.Errorf("store ids %v", ids)
		}
		// To all: every store runs v2, pilot assignments are gone.
		if err := st.AssignContent(bg(), hq.ContentAssign{Version: 2, All: true, By: "ops", At: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		a, _ = st.ContentAssignments(bg())
		if a.Default != 2 || len(a.Stores) != 0 || a.For("S002") != 2 || a.For("S009") != 2 {
			t.Fatalf("all: %+v", a)
		}
		// Chain-wide rollback to the embedded default.
		if err := st.AssignContent(bg(), hq.ContentAssign{Version: 0, All: true, By: "ops", At: t0}); err != nil {
			t.Fatal(err)
		}
		if a, _ = st.ContentAssignments(bg()); a.For("S001") != 0 {
			t.Fatalf("rollback to 0: %+v", a)
		}
		if err := st.AssignContent(bg(), hq.ContentAssign{Version: 7, All: true, By: "ops", At: t0}); !errors.Is(err, hq.ErrNotFound) {
			t.Errorf("unknown version: %v", err)
		}
		for name, x := range map[string]hq.ContentAssign{
			"neither":  {Version: 1, By: "ops"},
			"both":     {Version: 1, All: true, Stores: []string{"S001"}, By: "ops"},
			"empty id": {Version: 1, Stores: []string{""}, By: "ops"},
			"negative": {Version: -1, All: true, By: "ops"},
			"nobody":   {Version: 1, All: true},
		} {
			if err := st.AssignContent(bg(), x); !errors.Is(err, hq.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if a, _ = st.ContentAssignments(bg()); a.For("S001") != 0 || len(a.Stores) != 0 {
			t.Errorf("a refused assignment changed %+v", a)
		}
		// A publish that fails leaves the assignments alone.
		if _, err := st.PublishContent(bg(), hq.ContentPublish{Author: "a", Assign: hq.ContentAssign{All: true}}); err == nil {
			t.Fatal("empty pack published")
		}
		if a, _ = st.ContentAssignments(bg()); a.Default != 0 {
			t.Errorf("failed publish assigned: %+v", a)
		}
		// Every publish and assignment left one audit line, in order.
		es, err := st.AuditEntries(bg(), hq.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(es) - 1; i >= 0; i-- {
			if strings.HasPrefix(es[i].Action, "content.") {
				got = append(got, es[i].Actor+" "+es[i].Action+" "+es[i].Detail)
			}
		}
		h1, h2 := pack(t, "1").Hash(), pack(t, "2").Hash()
		want := []string{
			"a content.publish version=1 hash=" + h1 + " stores=all",
			"a content.publish version=2 hash=" + h2 + " stores=S001,S002",
			"ops content.assign version=1 stores=S002",
			"ops content.assign version=0 stores=S009",
			"ops content.assign version=2 stores=all",
			"ops content.assign version=0 stores=all",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("CompletionByContentVersion", func(t *testing.T) {
		st := open(t)
		d := day0.Time()
		v := func(id, store, pharm string, start time.Time, complete bool, version int) hq.VisitIngest {
			x := visit(id, store, pharm, start, complete)
			x.ContentVersion = version
			return hq.VisitIngest{Visit: x}
		}
		ingest(t, st, v("a1", "S001", "P01", d.Add(9*time.Hour), true, 0), v("a2", "S001", "P01", d.Add(10*time.Hour), false, 0),
			v("a3", "S001", "P02", d.Add(11*time.Hour), true, 2), v("a4", "S001", "P01", d.Add(33*time.Hour), true, 10))
		ingest(t, st, v("b1", "S002", "P07", d.Add(9*time.Hour), false, 2), v("b2", "S002", "P07", d.Add(10*time.Hour), true, 2))
		// A replayed visit counts once, under its version.
		ingest(t, st, v("b2", "S002", "P07", d.Add(10*time.Hour), true, 2))
		if err := st.AddRollups(bg(), []hq.RollupRow{{StoreID: "S003", PharmacistID: "P09", Day: day0, ContentVersion: 2, Rollup: flows.Rollup{Visits: 5, Completed: 5}}}); err != nil {
			t.Fatal(err)
		}
		type want struct{ version, visits, complete int }
		check := func(name string, q hq.CompletionQuery, ws []want) {
			t.Helper()
			q.GroupBy = hq.GroupByContentVersion
			gs, err := st.Completion(bg(), q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(gs) != len(ws) {
				t.Fatalf("%s: %+v, want %+v", name, gs, ws)
			}
			for i, w := range ws {
				g := gs[i]
				if g.ContentVersion == nil || *g.ContentVersion != w.version || g.Key != strconv.Itoa(w.version) || g.Rollup.Visits != w.visits || g.Rollup.Completed != w.complete {
					t.Fatalf("%s: group %d = %+v, want %+v", name, i, g, w)
				}
				if row := g.Row(); row.ContentVersion == nil || *row.ContentVersion != w.version {
					t.Fatalf("%s: row %+v", name, row)
				}
			}
		}
		// Numeric order: 10 after 2.
		check("all", hq.CompletionQuery{}, []want{{0, 2, 1}, {2, 8, 7}, {10, 1, 1}})
		check("one store", hq.CompletionQuery{StoreID: "S001"}, []want{{0, 2, 1}, {2, 1, 1}, {10, 1, 1}})
		check("one day", hq.CompletionQuery{From: day0, To: day0}, []want{{0, 2, 1}, {2, 8, 7}})
		check("one pharmacist", hq.CompletionQuery{PharmacistID: "P07"}, []want{{2, 2, 1}})
		check("nothing", hq.CompletionQuery{StoreID: "S404"}, nil)
		// The other groupings still count every version.
		gs, _ := st.Completion(bg(), hq.CompletionQuery{GroupBy: hq.GroupByStore})
		if len(gs) != 3 || gs[0].Rollup.Visits != 4 || gs[1].Rollup.Visits != 2 || gs[2].Rollup.Visits != 5 || gs[0].ContentVersion != nil {
			t.Fatalf("by store: %+v", gs)
		}
		if err := st.AddRollups(bg(), []hq.RollupRow{{StoreID: "S003", Day: day0, ContentVersion: -1}}); !errors.Is(err, hq.ErrInvalid) {
			t.Fatalf("negative version: %v", err)
		}
	})
	t.Run("Statuses", func(t *testing.T) {
		st := open(t)
		if ss, err := st.ContentStatuses(bg()); err != nil || len(ss) != 0 {
			t.Fatalf("fresh: %v %v", ss, err)
		}
		h := pack(t, "1").Hash()
		must := func(s hq.ContentStatus) {
			t.Helper()
			if err := st.RecordContentStatus(bg(), s); err != nil {
				t.Fatal(err)
			}
		}
		must(hq.ContentStatus{StoreID: "S002", Version: 1, Hash: h, At: t0})
		must(hq.ContentStatus{StoreID: "S001", Version: 1, Hash: h, At: t0,
			Refused: &hq.ContentRefusal{Version: 2, Hash: "sha256:x", Reason: "hash mismatch", At: t0}})
		ss, _ := st.ContentStatuses(bg())
		if len(ss) != 2 || ss[0].StoreID != "S001" || ss[0].Refused == nil || ss[0].Refused.Reason != "hash mismatch" || !ss[0].Refused.At.Equal(t0) || ss[1].Refused != nil || !ss[1].At.Equal(t0) {
			t.Fatalf("statuses %+v", ss)
		}
		// The next report replaces the store's previous one.
		must(hq.ContentStatus{StoreID: "S001", Version: 2, Hash: h, At: t0.Add(time.Minute)})
		ss, _ = st.ContentStatuses(bg())
		if len(ss) != 2 || ss[0].Version != 2 || ss[0].Refused != nil || !ss[0].At.Equal(t0.Add(time.Minute)) {
			t.Fatalf("replaced: %+v", ss[0])
		}
		for _, bad := range []hq.ContentStatus{{Version: 1, At: t0}, {StoreID: "S1", Version: -1, At: t0}} {
			if err := st.RecordContentStatus(bg(), bad); !errors.Is(err, hq.ErrInvalid) {
				t.Errorf("%+v: %v, want ErrInvalid", bad, err)
			}
		}
	})
}

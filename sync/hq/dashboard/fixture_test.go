package dashboard

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/hq/followup"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fixedNow is the dashboard's clock in tests: 2026-03-31 15:00 Shanghai.
var fixedNow = time.Date(2026, 3, 31, 15, 0, 0, 0, flows.Shanghai())

type fixture struct {
	hqStore *boltstore.Store
	admin   string
	store   string // a store token (must not sign in)
	srv     *httptest.Server
	h       *Handler
	// expected per-store completion over the last 30 days
	visits, completed map[string]int
}

func rollup(visits, completed int) flows.Rollup {
	r := flows.Rollup{Visits: visits, Completed: completed}
	// everyone is identified; most answer the questionnaire and get recommendations;
	// the completed ones did all four steps.
	r.Funnel = [4]int{visits, max(completed, visits*9/10), max(completed, visits*7/10), completed}
	return r
}

// newFixture builds a real HQ bbolt store (rollups, points, tokens) and the follow-up
// store in the same file, with three stores over 30 days.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{hqStore: st, visits: map[string]int{}, completed: map[string]int{}}
	today := flows.DayOf(fixedNow)
	// S001 strong (~90 %), S002 medium (~60 %), S003 weak (~25 %).
	plan := []struct {
		store       string
		pharm       []string
		perDay, pct int
	}{
		{"S001", []string{"P01", "P02"}, 10, 90},
		{"S002", []string{"P03", "P04"}, 8, 60},
		{"S003", []string{"P05"}, 4, 25},
	}
	var rows []hq.RollupRow
	for _, p := range plan {
		for d := today - 29; d <= today; d++ {
			for i, ph := range p.pharm {
				v := p.perDay + i + int(d%3)
				c := v * p.pct / 100
				rows = append(rows, hq.RollupRow{StoreID: p.store, PharmacistID: ph, Day: d, Rollup: rollup(v, c)})
				f.visits[p.store] += v
				f.completed[p.store] += c
			}
		}
	}
	// Older data outside the default window must not count.
	rows = append(rows, hq.RollupRow{StoreID: "S003", PharmacistID: "P05", Day: today - 40, Rollup: rollup(100, 100)})
	if err := st.AddRollups(ctx, rows); err != nil {
		t.Fatal(err)
	}
	for i, ev := range []flows.PointsEvent{
		{ID: "a:link_opened", StoreID: "S001", PharmacistID: "P01", Kind: flows.PointsLinkOpened, Points: 2},
		{ID: "b:revisit_booked", StoreID: "S001", PharmacistID: "P01", Kind: flows.PointsRevisitBooked, Points: 3},
		{ID: "c:visit_complete", StoreID: "S002", PharmacistID: "P03", Kind: flows.PointsVisitComplete, Points: 1},
		{ID: "d:revisit_booked", StoreID: "S003", PharmacistID: "P05", Kind: flows.PointsRevisitBooked, Points: 3},
	} {
		ev.At = fixedNow.Add(-time.Duration(i) * time.Hour)
		if _, err := st.CreditPoints(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	// One overdue follow-up (due yesterday, never sent).
	v := flows.Visit{ID: "01JQVISIT000000000000000001", StoreID: "S002", PharmacistID: "P04", CustomerKey: "0123456789abcdef0123456789abcdef",
		FollowUp: &flows.FollowUpStep{Consent: map[string]bool{flows.ChannelWeCom: true}, FollowUp: &flows.FollowUp{
			ID: "01JQVISIT000000000000000001-f1", Channel: flows.ChannelWeCom, DueAt: fixedNow.Add(-26 * time.Hour), Consent: true, Text: "请按时服药"}}}
	in := hq.VisitIngest{Visit: v}
	if err := followup.Prepare(&in, fixedNow); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IngestVisits(ctx, v.StoreID, []hq.VisitIngest{in}); err != nil {
		t.Fatal(err)
	}
	if f.admin, err = hq.CreateToken(ctx, st, hq.Principal{Admin: true}); err != nil {
		t.Fatal(err)
	}
	if f.store, err = hq.CreateToken(ctx, st, hq.Principal{StoreID: "S001"}); err != nil {
		t.Fatal(err)
	}
	def, err := content.FromDir("../../../assets/data")
	if err != nil {
		t.Fatal(err)
	}
	f.h, err = New(Config{Data: HQData(st), Verify: AdminVerifier(st), Audit: auditTo(st),
		Now: func() time.Time { return fixedNow }, Logger: quiet(), Content: contentadmin.New(st, def, func() time.Time { return fixedNow })})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) rate(store string) float64 { return pct(f.completed[store], f.visits[store]) }

func (f *fixture) chainRate() float64 {
	var v, c int
	for s := range f.visits {
		v += f.visits[s]
		c += f.completed[s]
	}
	return pct(c, v)
}

// noRedirect is a client that keeps cookies off and shows redirects.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// auditTo appends the dashboard's audit entries to st.
func auditTo(st hq.AuditStore) func(ctx context.Context, actor, action, detail string, at time.Time) error {
	return func(ctx context.Context, actor, action, detail string, at time.Time) error {
		return st.Audit(ctx, hq.AuditEntry{At: at, Actor: actor, Action: action, Detail: detail})
	}
}

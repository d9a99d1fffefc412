package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

// reportVisit builds a visit of pharmacist ph started at start with `steps` steps done,
// each step 30 s after the previous.
func reportVisit(id, ph string, start time.Time, steps int, outcome string) flows.Visit {
	v := flows.NewVisit(id, "S001", ph, flows.Customer{Key: strings.Repeat("c", 32)}, start)
	at := func(i int) time.Time { return start.Add(time.Duration(30*i) * time.Second) }
	if steps >= 1 {
		v.Identify = &flows.IdentifyStep{At: at(1), AsOf: flows.DayOf(start)}
	}
	if steps >= 2 {
		v.Questionnaire = &flows.QuestionnaireStep{At: at(2), Class: "hypertension", Answers: map[string]string{"a": "b"}}
	}
	if steps >= 3 {
		v.Recommend = &flows.RecommendStep{At: at(3), Items: []flows.Recommendation{{ID: "r1"}, {ID: "r2"}}}
	}
	if steps >= 4 {
		v.FollowUp = &flows.FollowUpStep{At: at(4), Declined: true}
	}
	v.Outcome = outcome
	if outcome != flows.OutcomeInProgress {
		v.EndedAt = at(steps + 1)
	}
	return v
}

// reportStore writes: P01 3 visits on 06-01 (2 complete, 1 abandoned at step 2),
// P02 1 visit on 06-02 (in progress after step 1), 1 old visit on 05-01 (outside).
func reportStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(store.DefaultPath(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d1 := time.Date(2026, 6, 1, 9, 0, 0, 0, flows.Shanghai())
	for _, v := range []flows.Visit{
		reportVisit("V1", "P01", d1, 4, flows.OutcomeComplete),
		reportVisit("V2", "P01", d1.Add(time.Hour), 4, flows.OutcomeComplete),
		reportVisit("V3", "P01", d1.Add(2*time.Hour), 2, flows.OutcomeAbandoned),
		reportVisit("V4", "P02", d1.AddDate(0, 0, 1), 1, flows.OutcomeInProgress),
		reportVisit("V0", "P09", d1.AddDate(0, -1, 0), 4, flows.OutcomeComplete),
	} {
		if err := s.SaveVisit(context.Background(), v); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runReportT(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := report(context.Background(), args, &out, &errb, func() time.Time {
		return time.Date(2026, 6, 20, 12, 0, 0, 0, flows.Shanghai())
	})
	return out.String(), err
}

func TestReportByPharmacistJSON(t *testing.T) {
	dir := reportStore(t)
	out, err := runReportT(t, "--data", dir, "--from", "2026-06-01", "--to", "2026-06-02", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep completionReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Key != "P01" || rep.Rows[1].Key != "P02" {
		t.Fatalf("rows = %+v", rep.Rows)
	}
	p1 := rep.Rows[0]
	if p1.Visits != 3 || p1.Completed != 2 || p1.Abandoned != 1 || fmt.Sprintf("%.1f", p1.Rate) != "66.7" ||
		p1.Funnel != [4]int{3, 3, 2, 2} || p1.Stalled != [4]int{0, 0, 1, 0} {
		t.Fatalf("P01 = %+v", p1)
	}
	if rep.Total == nil || rep.Total.Visits != 4 || rep.Total.Completed != 2 || rep.Total.Rate != 50 {
		t.Fatalf("total = %+v", rep.Total)
	}
	if rep.From != flows.DayFromDate(2026, 6, 1) || rep.By != "pharmacist" {
		t.Fatalf("header = %v %v", rep.From, rep.By)
	}
}

func TestReportDefaultsTableAndDay(t *testing.T) {
	dir := reportStore(t)
	// Defaults: last 30 days ending "today" (06-20), by pharmacist, table.
	out, err := runReportT(t, "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-05-22 .. 2026-06-20, by pharmacist", "P01", "66.7", "TOTAL", "3/3/2/2"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "P09") {
		t.Errorf("visit outside the default window reported:\n%s", out)
	}
	out, err = runReportT(t, "--data", dir, "--from", "2026-05-01", "--to", "2026-06-30", "--by", "day", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || recs[1][1] != "2026-05-01" || recs[2][1] != "2026-06-01" || recs[2][2] != "3" || recs[4][1] != "all" || recs[4][2] != "5" {
		t.Fatalf("csv by day = %v", recs)
	}
}

func TestReportByStep(t *testing.T) {
	dir := reportStore(t)
	out, err := runReportT(t, "--data", dir, "--from", "2026-06-01", "--to", "2026-06-02", "--by", "step", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Reached: 4, 3, 2, 2 of 4 visits; stalled: step 2 (V4) and step 3 (V3).
	want := [][]string{
		{"1", "4", "100.0", "0", "30.0"},
		{"2", "3", "75.0", "1", "30.0"},
		{"3", "2", "50.0", "1", "30.0"},
		{"4", "2", "50.0", "0", "30.0"},
	}
	if len(recs) != 5 {
		t.Fatalf("csv by step = %v", recs)
	}
	for i, w := range want {
		r := recs[i+1]
		got := []string{r[0], r[3], r[4], r[5], r[6]}
		if strings.Join(got, ",") != strings.Join(w, ",") {
			t.Errorf("step row %d = %v, want %v", i+1, got, w)
		}
	}
	out, err = runReportT(t, "--data", dir, "--from", "2026-06-01", "--to", "2026-06-02", "--by", "step")
	if err != nil || !strings.Contains(out, "需求挖掘") || !strings.Contains(out, "STALLED HERE") {
		t.Fatalf("step table = %q, %v", out, err)
	}
}

func TestReportUsageErrors(t *testing.T) {
	dir := reportStore(t)
	for name, args := range map[string][]string{
		"no data":    {},
		"bad by":     {"--data", dir, "--by", "weekday"},
		"bad format": {"--data", dir, "--format", "xml"},
		"bad date":   {"--data", dir, "--from", "2026/06/01"},
		"inverted":   {"--data", dir, "--from", "2026-06-05", "--to", "2026-06-01"},
		"extra arg":  {"--data", dir, "extra"},
		"bad flag":   {"--data", dir, "--nope"},
	} {
		if _, err := runReportT(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("%s: err = %v, want errUsage", name, err)
		}
	}
	if _, err := runReportT(t, "--data", filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("missing store: %v", err)
	}
	// runReport itself (real clock) works too.
	var out bytes.Buffer
	if err := runReport(context.Background(), []string{"--data", dir, "--format", "json"}, &out, &out); err != nil || !json.Valid(out.Bytes()) {
		t.Fatalf("runReport: %v %s", err, out.String())
	}
}

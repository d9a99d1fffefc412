package main

import (
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
)

func TestContentDiffOffline(t *testing.T) {
	dir := newHQDir(t)
	hyp := flows.QuestionnaireFile(flows.ClassHypertension)
	changed := strings.Replace(embeddedFile(t, hyp), "您多久测一次血压？", "您多久量一次血压？", 1)
	if code, _, errs := runHQ(t, "content", "publish", "--data", dir, "--from", contentDir(t, map[string]string{hyp: changed})); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runHQ(t, "content", "publish", "--data", dir, "--from", contentDir(t, points("7"))); code != 0 {
		t.Fatal(errs)
	}
	code, out, _ := runHQ(t, "content", "diff", "--data", dir, "0", "2")
	want := "questionnaires/hypertension.json: changed\n" +
		"  ~ question bp_measure (您多久量一次血压？): text \"您多久测一次血压？\" → \"您多久量一次血压？\"\n" +
		"rules/points.json: changed\n" +
		"  ~ rule visit_complete: 1 → 7\n"
	if code != 0 || out != want {
		t.Fatalf("diff 0 2: %d\n%s\nwant\n%s", code, out, want)
	}
	if code, out, _ = runHQ(t, "content", "diff", "--data", dir, "2", "2"); code != 0 || out != "no changes\n" {
		t.Fatalf("diff 2 2: %d %q", code, out)
	}
	if code, _, errs := runHQ(t, "content", "diff", "--data", dir, "1", "5"); code != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("unknown version: %d %q", code, errs)
	}
}

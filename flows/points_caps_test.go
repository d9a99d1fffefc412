package flows

import (
	"strings"
	"testing"
)

// The daily caps of link points in the points rules file; files without
// them stay valid.
func TestLoadPointsCaps(t *testing.T) {
	r, caps, err := LoadPoints([]byte(`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"link_opened":40,"revisit_booked":60}}`))
	if err != nil || r[PointsLinkOpened] != 2 || len(r) != 3 || caps[PointsLinkOpened] != 40 || caps[PointsRevisitBooked] != 60 {
		t.Fatalf("rules %v caps %v %v", r, caps, err)
	}
	r, caps, err = LoadPoints([]byte(`{"visit_complete":1,"link_opened":2,"revisit_booked":3}`))
	if err != nil || caps != nil || r[PointsRevisitBooked] != 3 {
		t.Fatalf("a file without caps: %v %v %v", r, caps, err)
	}
	if r, _, err := LoadPoints([]byte(`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"link_opened":4}}`)); err != nil || len(r) != 3 {
		t.Fatalf("LoadPoints with caps: %v %v", r, err)
	}
	for in, want := range map[string]string{
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":5}`:                                 "daily_cap: want an object",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"visit_complete":5}}`:              "daily_cap.visit_complete: only link_opened and revisit_booked",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"link_opened":0}}`:                 "daily_cap.link_opened: is 0",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"link_opened":1.5}}`:               "whole number",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"link_opened":4,"link_opened":5}}`: "duplicate key",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"link_opened":4},"daily_cap":{}}`:  "duplicate key",
		`{"visit_complete":1,"link_opened":2,"revisit_booked":3,"daily_cap":{"link_opened":"40"}}`:              "whole number",
	} {
		if _, _, err := LoadPoints([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadPoints(%s) = %v, want %q", in, err, want)
		}
	}
}

// The embedded rules file carries the built-in caps.
func TestEmbeddedPointsCaps(t *testing.T) {
	d, err := LoadData(assetFS)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range DefaultPointsCaps() {
		if d.PointsCaps[k] != v {
			t.Errorf("embedded cap %s = %d, want %d", k, d.PointsCaps[k], v)
		}
	}
}

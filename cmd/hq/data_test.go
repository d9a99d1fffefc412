package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
)

func TestDomainDataOverrides(t *testing.T) {
	d, err := domainData("", "")
	if err != nil || d.Catalog.Len() < 35 || d.Messages.Reminder == "" {
		t.Fatalf("embedded: %v", err)
	}
	dir := t.TempDir()
	points := filepath.Join(dir, "points.json")
	os.WriteFile(points, []byte(`{"visit_complete": 5, "link_opened": 2, "revisit_booked": 3}`), 0o600)
	if d, err = domainData("", points); err != nil || d.Points[flows.PointsVisitComplete] != 5 {
		t.Fatalf("points override: %v %v", d.Points, err)
	}
	os.WriteFile(points, []byte(`{"visit_complete": 5, "visit_complete": 6}`), 0o600)
	if _, err = domainData("", points); err == nil || !strings.Contains(err.Error(), points) || !strings.Contains(err.Error(), `rules/points.json:1: field visit_complete: duplicate key`) {
		t.Fatalf("broken points override: %v", err)
	}
	// A catalog without the products the knowledge base recommends is cross-checked.
	cat := filepath.Join(dir, "drugs.json")
	os.WriteFile(cat, []byte(`[{"code": "6930120010006", "name": "苯磺酸氨氯地平片", "atc": "C08CA01", "pack_days_supply": 28}]`), 0o600)
	if _, err = domainData(cat, ""); err == nil || !strings.Contains(err.Error(), "knowledge/kb.json") || !strings.Contains(err.Error(), "is not in the catalog") || !strings.Contains(err.Error(), cat) {
		t.Fatalf("catalog override without the products: %v", err)
	}
	if _, err = domainData(filepath.Join(dir, "nope.json"), ""); err == nil {
		t.Fatal("missing override file accepted")
	}
}

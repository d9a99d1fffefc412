package store

import (
	"context"
	"errors"
	"testing"
)

// A draft lives with its open visit: it survives re-saves of the visit and a reopen of
// the file, and goes when the visit is finished.
func TestDraftLivesWithTheOpenVisit(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	v := visitAt("V1", t0, custKey(1), 1, false)
	if err := s.SaveDraft(ctx, v.ID, []byte(`{"answers":{"q":"a"}}`)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("draft of an unknown visit: %v", err)
	}
	if err := s.SaveVisit(ctx, v); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Draft(ctx, v.ID); err != nil || d != nil {
		t.Fatalf("fresh visit's draft %q, %v", d, err)
	}
	if err := s.SaveDraft(ctx, v.ID, []byte(`{"answers":{"q":"a"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVisit(ctx, v); err != nil { // a re-save keeps it
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, err := s.Draft(ctx, v.ID); err != nil || string(d) != `{"answers":{"q":"a"}}` {
		t.Fatalf("draft after reopen %q, %v", d, err)
	}
	if open, err := s.OpenVisits(ctx); err != nil || len(open) != 1 {
		t.Fatalf("open visits %d, %v", len(open), err)
	}
	if err := s.SaveDraft(ctx, v.ID, make([]byte, maxDraft+1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("oversized draft: %v", err)
	}
	done := visitAt("V1", t0, custKey(1), 4, true)
	if err := s.SaveVisit(ctx, done); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Draft(ctx, v.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("draft of a finished visit: %v", err)
	}
}

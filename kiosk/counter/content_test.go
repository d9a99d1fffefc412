package counter

import (
	"testing"

	"github.com/pharmachain/counter/kiosk/demo"
)

// Content offered during a visit waits for the visit to end: the open visit keeps the
// content it started with (and its version); the next visit runs on the new one.
func TestContentSwapsOnlyBetweenVisits(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.signIn(1, "1234")
	r.scan(demo.Customers()[1].ID)
	r.loaded()
	first := r.vs().Visit.ID
	v2 := Content{Version: 7, Data: loadDomain(t)}
	now, err := r.c.OfferContent(v2)
	if err != nil || now {
		t.Fatalf("offered mid-visit: in use now %v, %v", now, err)
	}
	if r.c.Content().Version != 0 || r.vs().Content.Version != 0 {
		t.Fatal("the content changed under the open visit")
	}
	r.key(KeyEscape)
	r.key(KeyEnter) // abandoned: the visit is over
	if r.c.Content().Version != 7 {
		t.Fatalf("content version %d after the visit, want 7", r.c.Content().Version)
	}
	if v := r.stored(first); v.ContentVersion != 0 {
		t.Fatalf("first visit recorded content %d, want 0", v.ContentVersion)
	}
	r.scan(demo.Customers()[2].ID)
	r.loaded()
	if vs := r.vs(); vs.Content.Version != 7 || r.stored(vs.Visit.ID).ContentVersion != 7 {
		t.Fatalf("second visit on content %d (stored %d), want 7", vs.Content.Version, r.stored(vs.Visit.ID).ContentVersion)
	}
	// With no visit open an offer is taken at once; a content without a knowledge base is
	// refused.
	r.key(KeyEscape)
	r.key(KeyEnter)
	if now, err := r.c.OfferContent(Content{Version: 8, Data: loadDomain(t)}); err != nil || !now || r.c.Content().Version != 8 {
		t.Fatalf("idle offer: now %v err %v version %d", now, err, r.c.Content().Version)
	}
	if _, err := r.c.OfferContent(Content{Version: 9}); err == nil {
		t.Fatal("an empty content was accepted")
	}
}

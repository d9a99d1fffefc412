package flows

import (
	"fmt"
	"time"
)

// PointsRules maps an event kind to the points it earns, e.g.
// {"visit_complete":1,"link_opened":2,"revisit_booked":3}.
type PointsRules map[string]int

// DefaultPointsRules is the built-in rule set (assets/data/rules/points.json).
func DefaultPointsRules() PointsRules {
	return PointsRules{PointsVisitComplete: 1, PointsLinkOpened: 2, PointsRevisitBooked: 3}
}

// LoadPointsRules parses a JSON object of kind → points (strict: duplicate kinds
// rejected). The three standard kinds must be present; every value must be within
// 0–1000; kind names are [a-z0-9_-]. Errors are *DataError naming the kind.
func LoadPointsRules(data []byte) (PointsRules, error) {
	var r PointsRules
	if err := decodeStrict(data, &r); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, &DataError{Msg: "want a JSON object of kind → points"}
	}
	for _, k := range sortedKeys(r) {
		if !validID(k) {
			return nil, fieldErr(joinPath("", k), "", "bad kind %q (want 1–64 of [a-z0-9_-])", k)
		}
		if r[k] < 0 || r[k] > 1000 {
			return nil, fieldErr(k, "", "is %d, want 0–1000", r[k])
		}
	}
	for _, k := range []string{PointsVisitComplete, PointsLinkOpened, PointsRevisitBooked} {
		if _, ok := r[k]; !ok {
			return nil, fieldErr(k, "", "is missing (the kinds %s, %s and %s are required)", PointsVisitComplete, PointsLinkOpened, PointsRevisitBooked)
		}
	}
	return r, nil
}

// PointsEventID is the idempotency key of an event: ref + ":" + kind.
func PointsEventID(ref, kind string) string { return ref + ":" + kind }

// Event builds the points event for kind, credited to pharmacist of store, for the
// visit or follow-up ref. Its ID is ref + ":" + kind, so the same event earns once.
func (r PointsRules) Event(kind, store, pharmacist, ref string, at time.Time) (PointsEvent, error) {
	pts, ok := r[kind]
	if !ok {
		return PointsEvent{}, fmt.Errorf("points: unknown event kind %q", kind)
	}
	if ref == "" {
		return PointsEvent{}, fmt.Errorf("points: %s event without a ref", kind)
	}
	if pharmacist == "" {
		return PointsEvent{}, fmt.Errorf("points: %s event for %s without a pharmacist", kind, ref)
	}
	return PointsEvent{
		ID:           PointsEventID(ref, kind),
		StoreID:      store,
		PharmacistID: pharmacist,
		Kind:         kind,
		Points:       pts,
		At:           at,
		Ref:          ref,
	}, nil
}

// CompletionEvent is the visit_complete event of a complete visit (ref = visit id); ok
// is false for a visit that is not complete.
func (r PointsRules) CompletionEvent(v Visit) (PointsEvent, bool, error) {
	if !Complete(v) {
		return PointsEvent{}, false, nil
	}
	e, err := r.Event(PointsVisitComplete, v.StoreID, v.PharmacistID, v.ID, v.EndedAt)
	if err != nil {
		return PointsEvent{}, false, err
	}
	return e, true, nil
}

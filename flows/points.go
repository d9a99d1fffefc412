package flows

import (
	"bytes"
	"encoding/json"
	"errors"
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

// LoadPointsRules parses a JSON object of kind → points. The three standard kinds must
// be present; every value must be within 0–1000; kind names are [a-z0-9_-].
func LoadPointsRules(data []byte) (PointsRules, error) {
	var r PointsRules
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("points rules: %w", err)
	}
	if dec.More() {
		return nil, errors.New("points rules: trailing data after the JSON object")
	}
	if r == nil {
		return nil, errors.New("points rules: want a JSON object of kind → points")
	}
	for _, k := range sortedKeys(r) {
		if !validID(k) {
			return nil, fmt.Errorf("points rules: bad kind %q", k)
		}
		if r[k] < 0 || r[k] > 1000 {
			return nil, fmt.Errorf("points rules: field %q is %d, want 0–1000", k, r[k])
		}
	}
	for _, k := range []string{PointsVisitComplete, PointsLinkOpened, PointsRevisitBooked} {
		if _, ok := r[k]; !ok {
			return nil, fmt.Errorf("points rules: field %q is missing", k)
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

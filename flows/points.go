package flows

import (
	"bytes"
	"encoding/json"
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

// PointsCaps maps a points kind to the most points of that kind one pharmacist may earn
// per local day through customers' links (link_opened, revisit_booked), e.g.
// {"link_opened":40,"revisit_booked":60}. A kind without a cap is not capped.
type PointsCaps map[string]int

// DailyCapKey is the points rules file's key of the daily caps: an object of kind → cap
// beside the kinds' points. Files without it (every file before caps existed) have no
// caps.
const DailyCapKey = "daily_cap"

// DefaultPointsCaps are the built-in daily caps (assets/data/rules/points.json).
func DefaultPointsCaps() PointsCaps {
	return PointsCaps{PointsLinkOpened: 40, PointsRevisitBooked: 60}
}

// LoadPoints parses a points rules file: a JSON object of kind → points (strict:
// duplicate keys rejected), optionally with "daily_cap": an object of kind → the most
// points of that kind a pharmacist earns per day through customers' links. The three
// standard kinds must be present; every points value must be a whole number within
// 0–1000 and every cap within 1–100000, for a kind the file prices (link_opened or
// revisit_booked: the kinds customers' links earn); kind names are [a-z0-9_-]. Errors
// are *DataError naming the kind.
func LoadPoints(data []byte) (PointsRules, PointsCaps, error) {
	var raw map[string]any
	if err := decodeStrict(data, &raw); err != nil {
		return nil, nil, err
	}
	if raw == nil {
		return nil, nil, &DataError{Msg: "want a JSON object of kind → points"}
	}
	r := PointsRules{}
	var capsRaw any
	for _, k := range sortedKeys(raw) {
		if k == DailyCapKey {
			capsRaw = raw[k]
			continue
		}
		if !validID(k) {
			return nil, nil, fieldErr(joinPath("", k), "", "bad kind %q (want 1–64 of [a-z0-9_-])", k)
		}
		n, ok := wholeNumber(raw[k])
		if !ok {
			e := fieldErr(k, "", "%v does not fit (want a whole number)", raw[k])
			e.Line = keyLine(data, k)
			return nil, nil, e
		}
		if n < 0 || n > 1000 {
			return nil, nil, fieldErr(k, "", "is %d, want 0–1000", n)
		}
		r[k] = n
	}
	for _, k := range []string{PointsVisitComplete, PointsLinkOpened, PointsRevisitBooked} {
		if _, ok := r[k]; !ok {
			return nil, nil, fieldErr(k, "", "is missing (the kinds %s, %s and %s are required)", PointsVisitComplete, PointsLinkOpened, PointsRevisitBooked)
		}
	}
	var caps PointsCaps
	if capsRaw != nil {
		m, ok := capsRaw.(map[string]any)
		if !ok {
			return nil, nil, fieldErr(DailyCapKey, "", "want an object of kind → the most points a pharmacist earns of it per day")
		}
		caps = PointsCaps{}
		for _, k := range sortedKeys(m) {
			path := DailyCapKey + "." + k
			if k != PointsLinkOpened && k != PointsRevisitBooked {
				return nil, nil, fieldErr(path, "", "only %s and %s (the points customers' links earn) have a daily cap", PointsLinkOpened, PointsRevisitBooked)
			}
			n, ok := wholeNumber(m[k])
			if !ok || n < 1 || n > 100000 {
				return nil, nil, fieldErr(path, "", "is %v, want a whole number 1–100000 (leave the kind out for no cap)", m[k])
			}
			caps[k] = n
		}
	}
	return r, caps, nil
}

// keyLine is the line of the first occurrence of key as a JSON key in data (0: not
// found).
func keyLine(data []byte, key string) int {
	k, _ := json.Marshal(key)
	if i := bytes.Index(data, k); i >= 0 {
		return lineAt(data, i)
	}
	return 0
}

// wholeNumber is v as an int if it is a JSON number without a fraction.
func wholeNumber(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != float64(int64(f)) || f > 1e9 || f < -1e9 {
		return 0, false
	}
	return int(f), true
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

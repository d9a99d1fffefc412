package pgstore

import "time"

// timeT is a nullable timestamptz: nil for a zero Go time.
type timeT = time.Time

// ts turns a zero time into NULL; others are kept (PostgreSQL keeps microseconds).
func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// tm turns NULL back into the zero time.
func tm(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

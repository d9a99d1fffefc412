package hq

import (
	"context"
	"fmt"
	"time"

	"github.com/pharmachain/counter/flows"
)

// LinkOpen records the first open of a follow-up's tracked link.
type LinkOpen struct {
	ID string
	At time.Time
	// Points is the event the open earns (flows.PointsLinkOpened of the follow-up's
	// own store and pharmacist); Points.ID empty: the open earns nothing.
	Points flows.PointsEvent
	Audit  []AuditEntry
	// Flags are appended with the open (only by the call that records it).
	Flags []Flag
	// DailyCap, if > 0, caps the points of Points.Kind the pharmacist earns per local
	// day through OpenLink and BookRevisit: Points is credited only if the pharmacist's
	// total of that kind on flows.DayOf(Points.At) stays ≤ DailyCap with it. Otherwise
	// the open is recorded without the points (LinkOutcome.Capped), Flags are written
	// with 0 points, and a FlagDailyCap flag is appended. Concurrent calls, also from
	// several HQ processes, never credit past the cap.
	DailyCap int
}

// RevisitBooking records a revisit booked through a follow-up's tracked link.
type RevisitBooking struct {
	ID     string
	Date   flows.Day // the day booked
	Slot   string    // time-slot id
	At     time.Time
	Points flows.PointsEvent // as LinkOpen.Points, kind flows.PointsRevisitBooked
	Audit  []AuditEntry
	Flags  []Flag // as LinkOpen.Flags
	// DailyCap as LinkOpen.DailyCap.
	DailyCap int
}

// Booking is a revisit booked through the tracked link.
type Booking struct {
	FollowUpID string    `json:"followup_id"`
	StoreID    string    `json:"store_id"`
	Date       flows.Day `json:"date"`
	Slot       string    `json:"slot"`
	At         time.Time `json:"at"`
}

// CapFlag is the FlagDailyCap flag a store appends when the daily cap withholds ev.
func CapFlag(ev flows.PointsEvent, cap int) Flag {
	return Flag{At: ev.At, Kind: FlagDailyCap, StoreID: ev.StoreID, PharmacistID: ev.PharmacistID, Ref: ev.Ref,
		Detail: fmt.Sprintf("%s: %d points withheld, the day's cap of %d reached", ev.Kind, ev.Points, cap)}
}

// LinkOutcome says what OpenLink or BookRevisit did.
type LinkOutcome struct {
	Item   FollowUpItem // the follow-up after the call
	First  bool         // this call recorded it (and credited its points)
	Opened bool         // the link had been opened (BookRevisit: else nothing changed)
	Capped bool         // First, but the points were withheld by the daily cap
}

// LinkStore records what customers do with a tracked link. Each call records and
// credits in ONE commit, so points are never credited without the open or booking they
// pay for, nor twice: of concurrent calls for one follow-up, exactly one is First.
type LinkStore interface {
	// OpenLink records the first open: OpenedAt = o.At (the follow-up leaves the
	// unopened set), o.Points credited once by event id, o.Audit and o.Flags appended;
	// First true.
	// A later call changes nothing (First false, Opened true). ErrNotFound if the
	// follow-up is unknown; ErrInvalid (nothing recorded) if o.Points is not of the
	// follow-up's own store and pharmacist or lacks an id, store or pharmacist.
	OpenLink(ctx context.Context, o LinkOpen) (LinkOutcome, error)
	// BookRevisit records the first booking of an opened link: BookedAt = b.At, the
	// Booking, b.Points credited once, b.Audit and b.Flags appended; First true. Not opened yet:
	// nothing changes, Opened false. Booked before: nothing changes, First false.
	// ErrNotFound and ErrInvalid as OpenLink.
	BookRevisit(ctx context.Context, b RevisitBooking) (LinkOutcome, error)
	// Booking returns the booking of a follow-up, if any.
	Booking(ctx context.Context, id string) (Booking, bool, error)
}

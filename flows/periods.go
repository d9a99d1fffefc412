package flows

import "time"

// The periods of the service rules. The kiosk and HQ both read them from here, so a
// change is made once and the retention floor follows the analysis it protects.

// DefaultLookbackDays is L, the continuity window of the step-1 analysis.
const DefaultLookbackDays = 90

// DefaultHorizonDays is H, the carry-in horizon before the window: fills bought up to H
// days before the window may still cover days inside it.
const DefaultHorizonDays = 180

// HistoryDays is how many local days of purchases an analysis with the default options
// reads: the window and the horizon before it (HistoryRange).
const HistoryDays = DefaultLookbackDays + DefaultHorizonDays

// MinRetention is the shortest retention a purge may use: the purchases one default
// analysis reads. Purging more would change what step 1 shows.
const MinRetention = HistoryDays * 24 * time.Hour

// DefaultRetention is how long the kiosk and HQ keep purchases and finished visits
// unless configured otherwise: three years.
const DefaultRetention = 3 * 365 * 24 * time.Hour

// DefaultFollowUpDelay is when a follow-up is due after its visit ends.
const DefaultFollowUpDelay = 24 * time.Hour

// SendWithin is how long after its due time a follow-up may wait to be sent before it
// counts as overdue (not sent).
const SendWithin = 2 * time.Hour

// OverdueAfter is the closed-loop window: a follow-up sent but not opened this long
// after the send is overdue and escalated; one that could not be sent is not sent
// later than this after its due time.
const OverdueAfter = 72 * time.Hour

// HistoryRange is the range of local days an analysis as of asOf reads: the lookback
// window plus the carry-in horizon before it, [asOf − (L−1) − H, asOf] (HistoryDays
// days with the defaults). Zero option fields take the defaults, as Analyze does.
func HistoryRange(asOf Day, opt AdherenceOptions) (from, to Day) {
	opt = opt.normalised()
	return asOf - Day(opt.LookbackDays-1) - Day(opt.HorizonDays), asOf
}

// VisitDay is the local day a visit counts on: the day it started.
func VisitDay(v Visit) Day { return DayOf(v.StartedAt) }

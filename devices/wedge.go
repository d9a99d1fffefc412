package devices

import (
	"time"
	"unicode/utf8"
)

// Default keyboard-wedge parameters.
const (
	DefaultWedgeMaxGap = 30 * time.Millisecond
	DefaultWedgeMinLen = 6
)

// WedgeConfig configures a Wedge. Zero values take the defaults.
type WedgeConfig struct {
	// MaxGap is the longest pause between two keystrokes of one scan (30 ms). Scanners type a
	// character every few milliseconds; people need 80 ms or more.
	MaxGap time.Duration
	// MinLen is the shortest code accepted as a scan (6 characters).
	MinLen int
	// NoSuffix accepts scanners configured without an Enter suffix: a fast burst of at least
	// MinLen keys followed by a pause longer than MaxGap is a scan too (returned by Key or Flush).
	NoSuffix bool
}

// Wedge tells keyboard-wedge scans (a fast burst of keystrokes ending in Enter) from a person
// typing. The UI feeds it every typed rune and Enter with the time the key arrived; when it
// reports a scan, the UI should discard the runes it echoed into a text field. Not safe for
// concurrent use; UI toolkits deliver keys on one goroutine.
type Wedge struct {
	cfg  WedgeConfig
	buf  []byte
	n    int // runes in buf
	last time.Time
}

// NewWedge returns a Wedge with cfg (defaults for zero fields).
func NewWedge(cfg WedgeConfig) *Wedge {
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = DefaultWedgeMaxGap
	}
	if cfg.MinLen <= 0 {
		cfg.MinLen = DefaultWedgeMinLen
	}
	return &Wedge{cfg: cfg}
}

// Key feeds one typed rune. A pause longer than MaxGap starts a new burst. With NoSuffix, the
// burst ended by that pause is returned as a Frame when it qualifies as a scan.
func (w *Wedge) Key(r rune, at time.Time) (Frame, bool) {
	var out Frame
	var ok bool
	if w.n > 0 && at.Sub(w.last) > w.cfg.MaxGap {
		if w.cfg.NoSuffix && w.isScan() {
			out, ok = w.frame(w.last), true
		}
		w.Reset()
	}
	if len(w.buf) < DefaultMaxFrame+utf8.UTFMax {
		w.buf = utf8.AppendRune(w.buf, r)
	}
	w.n++
	w.last = at
	return out, ok
}

// Enter feeds the Enter key. It returns the burst as a Frame when it was a scan: at least
// MinLen runes, every gap (including the one before Enter) within MaxGap. Otherwise the typed
// text belongs to the person typing and ok is false. Either way the burst is cleared.
func (w *Wedge) Enter(at time.Time) (Frame, bool) {
	defer w.Reset()
	if w.n == 0 || at.Sub(w.last) > w.cfg.MaxGap || !w.isScan() {
		return Frame{}, false
	}
	return w.frame(at), true
}

// Flush returns a pending NoSuffix burst once it has been idle for longer than MaxGap.
func (w *Wedge) Flush(now time.Time) (Frame, bool) {
	if !w.cfg.NoSuffix || w.n == 0 || now.Sub(w.last) <= w.cfg.MaxGap {
		return Frame{}, false
	}
	defer w.Reset()
	if !w.isScan() {
		return Frame{}, false
	}
	return w.frame(w.last), true
}

// Pending reports whether keys of a possible scan are buffered.
func (w *Wedge) Pending() bool { return w.n > 0 }

// Reset forgets the current burst.
func (w *Wedge) Reset() {
	for i := range w.buf {
		w.buf[i] = 0 // do not keep an ID number around
	}
	w.buf, w.n = w.buf[:0], 0
}

func (w *Wedge) isScan() bool {
	// Key resets the burst at any gap over MaxGap, so a long enough burst is a scan.
	return w.n >= w.cfg.MinLen
}

func (w *Wedge) frame(at time.Time) Frame {
	if len(w.buf) > DefaultMaxFrame {
		return Frame{Len: len(w.buf), At: at, Err: ErrFrameTooLong}
	}
	return MakeFrame(append([]byte(nil), w.buf...), at)
}

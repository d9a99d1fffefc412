package devices

import (
	"strings"
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
	// MinLen keys followed by a pause longer than MaxGap is a scan too.
	NoSuffix bool
}

// WedgeKey is one key press fed to a Wedge and, unless it was part of a scan, handed back
// to the UI: a typed character (Rune) or a named key (Name, e.g. "Return", "BackSpace").
type WedgeKey struct {
	Rune rune
	Name string
	// Src is the UI's business (where the key was typed: a text field, the screen); the
	// Wedge returns it with the key.
	Src any
	// At is when the key arrived (Rune, Key); the UI can measure how long it was held.
	At time.Time
}

// WedgeOutput is what a Wedge releases, in typing order: a person's key press (Scan nil)
// or a scan (Scan set; its keys are consumed).
type WedgeOutput struct {
	Key  WedgeKey
	Scan *Frame
}

// Wedge tells keyboard-wedge scans (a fast burst of keystrokes ending in Enter) from a
// person typing, for key events delivered the way a desktop toolkit delivers them: in
// batches, once per event-loop iteration, each stamped with the time it reached the
// program rather than the time it was typed (docs/devices.md).
//
// Characters are held back while they could belong to a scan. The UI feeds every typed
// character (Rune) and named key (Key) as it arrives, and tells the Wedge after each poll
// of the event source up to when every key typed has been delivered (Delivered); from
// those watermarks the Wedge knows a lower bound of every gap between two keys, however
// the events were batched. A key whose gap to the previous one may be at most MaxGap
// continues the burst; Enter ending a burst of at least MinLen keys makes it a scan; a
// burst followed by a proven pause longer than MaxGap (or by another named key) is
// released key by key. A scan's keys are never released and a person's keys are never
// dropped.
//
// A source that knows the exact time each key was typed calls Delivered(at) before each
// key. The Wedge is not safe for concurrent use; UI toolkits deliver keys on one goroutine.
type Wedge struct {
	cfg    WedgeConfig
	held   []WedgeKey // runes of the current burst, in order
	n      int        // runes in the burst (held keeps at most DefaultMaxFrame+1)
	lastAt time.Time  // arrival of the last rune of the burst
	wm     time.Time  // every key typed before wm has been delivered
	poll   time.Time  // the previous Polled call
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

// Config returns the configuration in use (defaults filled in).
func (w *Wedge) Config() WedgeConfig { return w.cfg }

// Rune feeds a typed character that arrived at at. It returns what that releases: a
// previous burst the character cannot belong to (as keys, or as a scan with NoSuffix).
func (w *Wedge) Rune(r rune, src any, at time.Time) []WedgeOutput {
	var out []WedgeOutput
	if w.n > 0 && !w.continues() {
		out = w.release(true)
	}
	w.n++
	if len(w.held) <= DefaultMaxFrame {
		w.held = append(w.held, WedgeKey{Rune: r, Src: src, At: at})
	}
	w.lastAt = at
	return out
}

// Key feeds a named key that arrived at at, by the toolkit's name (X11 keysym names, as
// Fyne and GLFW use them). Enter ("Return", "KP_Enter") ending a burst of at least MinLen
// characters returns the scan. Any other control key (WedgeControlKey) first releases the
// held characters, then itself. Keys that type a character (letters, digits, "Space") and
// modifiers are ignored: their character arrives through Rune, and a toolkit does not
// report every such key press (GLFW drops a repeated key within one millisecond).
func (w *Wedge) Key(name string, src any, at time.Time) []WedgeOutput {
	if !WedgeControlKey(name) {
		return nil
	}
	if isEnterKey(name) && w.n >= w.cfg.MinLen && w.continues() {
		f := w.frame(at)
		w.reset()
		return []WedgeOutput{{Scan: &f}}
	}
	out := w.release(false)
	return append(out, WedgeOutput{Key: WedgeKey{Name: name, Src: src, At: at}})
}

// Delivered tells the Wedge that every key typed before until has been fed. Once that
// proves a pause longer than MaxGap after the last held character, the burst is released:
// key by key (a person typing), or as a scan with NoSuffix.
func (w *Wedge) Delivered(until time.Time) []WedgeOutput {
	if until.After(w.wm) {
		w.wm = until
	}
	if w.n > 0 && !w.continues() {
		return w.release(true)
	}
	return nil
}

// Polled is for a source that delivers keys in batches, once per event-loop iteration
// (GLFW: the window's events are polled once per frame): call it right after each poll,
// e.g. from a per-frame callback, with the time. A key typed before the previous call had
// reached the program by this poll, so that time is the watermark (Delivered).
func (w *Wedge) Polled(at time.Time) []WedgeOutput {
	prev := w.poll
	w.poll = at
	if prev.IsZero() {
		return nil
	}
	return w.Delivered(prev)
}

// Pending reports whether characters are held.
func (w *Wedge) Pending() bool { return w.n > 0 }

// Reset drops the held characters.
func (w *Wedge) Reset() { w.reset() }

// continues reports whether a key arriving now may belong to the held burst: the least
// gap the watermark proves since the last held key is within MaxGap.
func (w *Wedge) continues() bool {
	return w.wm.Sub(w.lastAt) <= w.cfg.MaxGap
}

// release hands back the held burst: as one scan when byPause and NoSuffix allow, else as
// the person's key presses.
func (w *Wedge) release(byPause bool) []WedgeOutput {
	if w.n == 0 {
		return nil
	}
	if byPause && w.cfg.NoSuffix && w.n >= w.cfg.MinLen {
		f := w.frame(w.lastAt)
		w.reset()
		return []WedgeOutput{{Scan: &f}}
	}
	out := make([]WedgeOutput, 0, len(w.held))
	for _, k := range w.held {
		out = append(out, WedgeOutput{Key: k})
	}
	w.reset()
	return out
}

func (w *Wedge) frame(at time.Time) Frame {
	if w.n > DefaultMaxFrame {
		return Frame{Len: w.n, At: at, Err: tooLong(w.n, DefaultMaxFrame)}
	}
	b := make([]byte, 0, w.n)
	for _, k := range w.held {
		b = utf8.AppendRune(b, k.Rune)
	}
	f := MakeFrame(b, at)
	clear(b) // do not keep an ID number around
	return f
}

func (w *Wedge) reset() {
	clear(w.held) // do not keep an ID number around
	w.held, w.n = w.held[:0], 0
}

// isEnterKey reports whether name is the Enter key (main or keypad).
func isEnterKey(name string) bool {
	return name == "Return" || name == "KP_Enter" || name == "Enter"
}

// WedgeControlKey reports whether a key name is a control key the Wedge hands on (Enter,
// BackSpace, Escape, Tab, Delete, Insert, arrows, Home/End, Page Up/Down, F1–F24) rather
// than a key that types a character or a modifier.
func WedgeControlKey(name string) bool {
	switch name {
	case "Return", "KP_Enter", "Enter", "BackSpace", "Escape", "Tab", "Delete", "Insert",
		"Left", "Right", "Up", "Down", "Home", "End", "Prior", "Next":
		return true
	}
	if len(name) >= 2 && len(name) <= 3 && name[0] == 'F' && strings.Trim(name[1:], "0123456789") == "" {
		return true
	}
	return false
}

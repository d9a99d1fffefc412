package kiosk

import (
	"time"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/devices"
)

// keyInput sits between the window's key events and the screens. Keyboard-wedge scanners
// type a whole code in a few milliseconds and end it with Enter; a pharmacist presses one
// key at a time. Runes are therefore held for the wedge's inter-key gap: if Enter follows
// in a fast burst the runes become one scan (never key presses), otherwise they are
// delivered as key presses once the gap has passed.
type keyInput struct {
	wedge  *devices.Wedge
	maxGap time.Duration
	held   []rune
	lastAt time.Time

	onRune func(r rune)              // a person's key press (digit, letter)
	onKey  func(k fyne.KeyName)      // Enter, Backspace, Escape, F-keys …
	onScan func(f devices.Frame)     // a wedge scan
	arm    func(after time.Duration) // schedule tick (nil in tests: they call tick)
}

func newKeyInput(cfg devices.WedgeConfig) *keyInput {
	if cfg.MaxGap <= 0 {
		cfg.MaxGap = devices.DefaultWedgeMaxGap
	}
	return &keyInput{wedge: devices.NewWedge(cfg), maxGap: cfg.MaxGap}
}

// typedRune feeds one rune typed at at.
func (k *keyInput) typedRune(r rune, at time.Time) {
	if len(k.held) > 0 && at.Sub(k.lastAt) > k.maxGap {
		k.release()
	}
	k.wedge.Key(r, at)
	k.held = append(k.held, r)
	k.lastAt = at
	if k.arm != nil {
		k.arm(k.maxGap + 5*time.Millisecond)
	}
}

// typedKey feeds a non-rune key (Enter, Backspace, …) pressed at at.
func (k *keyInput) typedKey(name fyne.KeyName, at time.Time) {
	if name == fyne.KeyReturn || name == fyne.KeyEnter {
		if len(k.held) > 0 && at.Sub(k.lastAt) <= k.maxGap {
			if f, ok := k.wedge.Enter(at); ok {
				k.held = k.held[:0]
				k.onScan(f)
				return
			}
		} else {
			k.wedge.Enter(at) // clears a stale burst
		}
	}
	k.release()
	k.onKey(name)
}

// tick releases held runes once the gap has passed without an Enter.
func (k *keyInput) tick(now time.Time) {
	if len(k.held) > 0 && now.Sub(k.lastAt) > k.maxGap {
		k.release()
	}
}

func (k *keyInput) release() {
	if len(k.held) == 0 {
		return
	}
	rs := append([]rune(nil), k.held...)
	k.held = k.held[:0]
	k.wedge.Reset()
	for _, r := range rs {
		k.onRune(r)
	}
}

package devices

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"time"
	"unsafe"
)

// A keyboard-wedge scanner read as its own Linux input device (`kiosk --wedge-device
// /dev/input/by-id/usb-…-event-kbd`): the device is grabbed (EVIOCGRAB) so its keys never
// reach the window, and its key codes are turned into the characters a US keyboard types.
// Everything it types is a scan — no timing guesswork — framed at Enter (or after an idle
// gap without suffix) and classified like a serial frame.

// Linux input event types and key codes used here (linux/input-event-codes.h).
const (
	evKey        = 0x01
	keyEnter     = 28
	keyKPEnter   = 96
	keyLeftCtrl  = 29
	keyRightCtrl = 97
	keyLeftShift = 42
	keyRightShft = 54
	keyCapsLock  = 58
	keyRightBrce = 27 // Ctrl+] types GS (FNC1) on most scanners
)

// usKeys maps Linux key codes to what they type on a US layout: unshifted, shifted.
var usKeys = map[uint16][2]byte{
	2: {'1', '!'}, 3: {'2', '@'}, 4: {'3', '#'}, 5: {'4', '$'}, 6: {'5', '%'}, 7: {'6', '^'},
	8: {'7', '&'}, 9: {'8', '*'}, 10: {'9', '('}, 11: {'0', ')'}, 12: {'-', '_'}, 13: {'=', '+'},
	16: {'q', 'Q'}, 17: {'w', 'W'}, 18: {'e', 'E'}, 19: {'r', 'R'}, 20: {'t', 'T'}, 21: {'y', 'Y'},
	22: {'u', 'U'}, 23: {'i', 'I'}, 24: {'o', 'O'}, 25: {'p', 'P'}, 26: {'[', '{'}, 27: {']', '}'},
	30: {'a', 'A'}, 31: {'s', 'S'}, 32: {'d', 'D'}, 33: {'f', 'F'}, 34: {'g', 'G'}, 35: {'h', 'H'},
	36: {'j', 'J'}, 37: {'k', 'K'}, 38: {'l', 'L'}, 39: {';', ':'}, 40: {'\'', '"'}, 41: {'`', '~'},
	43: {'\\', '|'}, 44: {'z', 'Z'}, 45: {'x', 'X'}, 46: {'c', 'C'}, 47: {'v', 'V'}, 48: {'b', 'B'},
	49: {'n', 'N'}, 50: {'m', 'M'}, 51: {',', '<'}, 52: {'.', '>'}, 53: {'/', '?'}, 57: {' ', ' '},
	// keypad (scanners in "numeric keypad" mode; NumLock assumed on)
	55: {'*', '*'}, 71: {'7', '7'}, 72: {'8', '8'}, 73: {'9', '9'}, 74: {'-', '-'}, 75: {'4', '4'},
	76: {'5', '5'}, 77: {'6', '6'}, 78: {'+', '+'}, 79: {'1', '1'}, 80: {'2', '2'}, 81: {'3', '3'},
	82: {'0', '0'}, 83: {'.', '.'}, 98: {'/', '/'},
}

// InputEventSize is the size of struct input_event on this platform: a struct timeval
// (two C longs) then type u16, code u16, value s32 — 24 bytes on 64-bit Linux.
const InputEventSize = 2*int(unsafe.Sizeof(uintptr(0))) + 8

// InputEvent is one decoded struct input_event.
type InputEvent struct {
	Time  time.Time
	Type  uint16
	Code  uint16
	Value int32
}

// DecodeInputEvent decodes one struct input_event (native byte order) from b, which must
// hold InputEventSize bytes.
func DecodeInputEvent(b []byte) InputEvent {
	w := int(unsafe.Sizeof(uintptr(0)))
	var sec, usec int64
	if w == 8 {
		sec, usec = int64(binary.NativeEndian.Uint64(b[0:])), int64(binary.NativeEndian.Uint64(b[8:]))
	} else {
		sec, usec = int64(int32(binary.NativeEndian.Uint32(b[0:]))), int64(int32(binary.NativeEndian.Uint32(b[4:])))
	}
	return InputEvent{Time: time.Unix(sec, usec*1000), Type: binary.NativeEndian.Uint16(b[2*w:]),
		Code: binary.NativeEndian.Uint16(b[2*w+2:]), Value: int32(binary.NativeEndian.Uint32(b[2*w+4:]))}
}

// EncodeInputEvent is DecodeInputEvent's inverse (tests, tools replaying a recording).
func EncodeInputEvent(e InputEvent) []byte {
	w := int(unsafe.Sizeof(uintptr(0)))
	b := make([]byte, InputEventSize)
	if w == 8 {
		binary.NativeEndian.PutUint64(b[0:], uint64(e.Time.Unix()))
		binary.NativeEndian.PutUint64(b[8:], uint64(e.Time.Nanosecond()/1000))
	} else {
		binary.NativeEndian.PutUint32(b[0:], uint32(e.Time.Unix()))
		binary.NativeEndian.PutUint32(b[4:], uint32(e.Time.Nanosecond()/1000))
	}
	binary.NativeEndian.PutUint16(b[2*w:], e.Type)
	binary.NativeEndian.PutUint16(b[2*w+2:], e.Code)
	binary.NativeEndian.PutUint32(b[2*w+4:], uint32(e.Value))
	return b
}

// KeyDecoder turns a keyboard's key events into the bytes it types (US layout, Shift,
// Caps Lock; Ctrl+] is GS); Enter is '\r'. Other keys type nothing.
type KeyDecoder struct {
	lshift, rshift, lctrl, rctrl, caps bool
}

// Key feeds one event; it returns the byte typed, if any.
func (d *KeyDecoder) Key(e InputEvent) (byte, bool) {
	if e.Type != evKey {
		return 0, false
	}
	down := e.Value != 0 // 1 press, 2 autorepeat, 0 release
	switch e.Code {
	case keyLeftShift:
		d.lshift = down
		return 0, false
	case keyRightShft:
		d.rshift = down
		return 0, false
	case keyLeftCtrl:
		d.lctrl = down
		return 0, false
	case keyRightCtrl:
		d.rctrl = down
		return 0, false
	case keyCapsLock:
		if e.Value == 1 {
			d.caps = !d.caps
		}
		return 0, false
	}
	if e.Value != 1 { // releases; autorepeat never comes from a scanner's typing
		return 0, false
	}
	if e.Code == keyEnter || e.Code == keyKPEnter {
		return '\r', true
	}
	if (d.lctrl || d.rctrl) && e.Code == keyRightBrce {
		return GS, true
	}
	if d.lctrl || d.rctrl {
		return 0, false
	}
	k, ok := usKeys[e.Code]
	if !ok {
		return 0, false
	}
	shift := d.lshift || d.rshift
	if d.caps && k[0] >= 'a' && k[0] <= 'z' {
		shift = !shift
	}
	if shift {
		return k[1], true
	}
	return k[0], true
}

// WedgeDeviceConfig configures a WedgeDeviceReader.
type WedgeDeviceConfig struct {
	Path    string        // /dev/input/by-id/usb-…-event-kbd (stable across re-plugging)
	IdleGap time.Duration // a code without Enter ends after this much silence (DefaultIdleGap)
	// MaxReconnectWait caps the backoff while the device is absent (1 s).
	MaxReconnectWait time.Duration
	// NoGrab leaves the device shared with the desktop (diagnostics only: its keys then
	// reach the window too).
	NoGrab bool
}

// ErrNotInputDevice is returned (wrapped) when the path is not an evdev input device.
var ErrNotInputDevice = errors.New("not an input event device")

// WedgeDeviceReader reads a keyboard-wedge scanner as its own input device and delivers
// the same Events as a SerialReader (scans, rejected frames, device state). Create it
// with OpenWedgeDevice; read Events until it is closed.
type WedgeDeviceReader struct {
	cfg    WedgeDeviceConfig
	cls    *Classifier
	log    *slog.Logger
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	open   func(path string, grab bool) (io.ReadCloser, error)
}

// OpenWedgeDevice starts reading cfg.Path in the background (Linux). A missing device is
// not an error: the reader reports StateWaiting and keeps trying; a path that is not an
// input device, or that another program holds grabbed, is reported as StateError.
func OpenWedgeDevice(ctx context.Context, cfg WedgeDeviceConfig, cls *Classifier, logger *slog.Logger) (*WedgeDeviceReader, error) {
	return openWedgeDevice(ctx, cfg, cls, logger, openEvdev)
}

func openWedgeDevice(ctx context.Context, cfg WedgeDeviceConfig, cls *Classifier, logger *slog.Logger,
	open func(string, bool) (io.ReadCloser, error)) (*WedgeDeviceReader, error) {
	if cfg.Path == "" {
		return nil, errors.New("wedge device: no path")
	}
	if cls == nil {
		return nil, errors.New("wedge device: no classifier")
	}
	if cfg.IdleGap <= 0 {
		cfg.IdleGap = DefaultIdleGap
	}
	if cfg.MaxReconnectWait <= 0 {
		cfg.MaxReconnectWait = time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &WedgeDeviceReader{cfg: cfg, cls: cls, log: logger.With("wedge_device", cfg.Path),
		events: make(chan Event, 64), cancel: cancel, done: make(chan struct{}), open: open}
	go r.run(ctx)
	return r, nil
}

// Events returns the event channel; it is closed when the reader stops.
func (r *WedgeDeviceReader) Events() <-chan Event { return r.events }

// Close stops the reader and waits for it.
func (r *WedgeDeviceReader) Close() error {
	r.once.Do(r.cancel)
	<-r.done
	return nil
}

func (r *WedgeDeviceReader) emit(ctx context.Context, ev Event) {
	select {
	case r.events <- ev:
	case <-ctx.Done():
	}
}

func (r *WedgeDeviceReader) run(ctx context.Context) {
	defer close(r.done)
	defer close(r.events)
	wait := minReconnectWait
	lastState, lastErr := "", ""
	setState := func(state string, err error) {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if state == lastState && msg == lastErr {
			return
		}
		lastState, lastErr = state, msg
		r.log.Info("wedge device state", "state", state, "err", msg)
		p, _ := ProblemOf(err)
		r.emit(ctx, Event{Type: EventDevice, State: state, Err: msg, Problem: p, At: time.Now()})
	}
	for ctx.Err() == nil {
		f, err := r.open(r.cfg.Path, !r.cfg.NoGrab)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				setState(StateWaiting, problem("device.absent", kv("Port", r.cfg.Path), "device %s not present", r.cfg.Path))
			} else {
				setState(StateError, &Problem{Code: "device.open", Args: kv("Port", r.cfg.Path, "Err", err.Error()),
					msg: fmt.Sprintf("open %s: %v", r.cfg.Path, err), is: err})
			}
			if !sleepCtx(ctx, wait) {
				break
			}
			wait = min(wait*2, r.cfg.MaxReconnectWait)
			continue
		}
		wait = minReconnectWait
		setState(StateConnected, nil)
		err = r.serve(ctx, f)
		if ctx.Err() != nil {
			break
		}
		setState(StateWaiting, &Problem{Code: "device.unplugged", Args: kv("Err", err.Error()), msg: err.Error(), is: err})
		if !sleepCtx(ctx, wait) {
			break
		}
	}
}

// serve reads input events from f until it fails or ctx ends; it closes f.
func (r *WedgeDeviceReader) serve(ctx context.Context, f io.ReadCloser) error {
	type batch struct {
		evs []InputEvent
		err error
	}
	in := make(chan batch, 16)
	go func() {
		buf := make([]byte, 64*InputEventSize)
		var pending []byte
		for {
			n, err := f.Read(buf)
			pending = append(pending, buf[:n]...)
			var evs []InputEvent
			for len(pending) >= InputEventSize {
				evs = append(evs, DecodeInputEvent(pending[:InputEventSize]))
				pending = pending[InputEventSize:]
			}
			pending = append([]byte(nil), pending...)
			if err == nil && n == 0 {
				err = io.EOF
			}
			select {
			case in <- batch{evs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer f.Close() // unblocks the read
	var dec KeyDecoder
	fr := NewFramer(FramerConfig{IdleGap: r.cfg.IdleGap})
	deliver := func(frames []Frame) {
		for _, x := range frames {
			s := r.cls.Classify(x)
			if x.Err != nil {
				r.emit(ctx, Event{Type: EventError, Scan: &s, Err: x.Err.Error(), Problem: s.Problem, At: s.At})
				continue
			}
			r.log.Debug("wedge device scan", "scan", s)
			r.emit(ctx, Event{Type: EventScan, Scan: &s, At: s.At})
		}
	}
	for {
		var idle <-chan time.Time
		var t *time.Timer
		if dl, ok := fr.Deadline(); ok {
			t = time.NewTimer(time.Until(dl))
			idle = t.C
		}
		var b batch
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-idle:
			if x, ok := fr.Flush(time.Now()); ok {
				deliver([]Frame{x})
			}
			continue
		case b = <-in:
		}
		if t != nil {
			t.Stop()
		}
		for _, e := range b.evs {
			if c, ok := dec.Key(e); ok {
				deliver(fr.Feed([]byte{c}, e.Time))
			}
		}
		if b.err != nil {
			if x, ok := fr.FlushAll(time.Now()); ok {
				deliver([]Frame{x})
			}
			return fmt.Errorf("read: %w", b.err)
		}
	}
}

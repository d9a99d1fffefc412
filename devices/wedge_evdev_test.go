package devices

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// keyboardEvents is what a USB HID keyboard (a wedge scanner) makes the kernel send for
// typing s then Enter, one key every step from start: per key MSC_SCAN, KEY down, SYN,
// then MSC_SCAN, KEY up, SYN; Shift held around capitals and symbols, Ctrl around ']' for
// GS — the struct input_event stream read from /dev/input/event*.
func keyboardEvents(t *testing.T, s string, enter bool, start time.Time, step time.Duration) []byte {
	t.Helper()
	codes := map[byte][2]uint16{} // byte → key code, shift
	for code, k := range usKeys {
		if code == 55 || code >= 71 { // keypad: the scanner types on the main block
			continue
		}
		codes[k[0]] = [2]uint16{code, 0}
		if k[1] != k[0] {
			codes[k[1]] = [2]uint16{code, 1}
		}
	}
	var out []byte
	at := start
	ev := func(typ, code uint16, v int32) {
		out = append(out, EncodeInputEvent(InputEvent{Time: at, Type: typ, Code: code, Value: v})...)
	}
	key := func(code uint16, v int32) {
		ev(4, 4, int32(0x70000+int(code))) // EV_MSC MSC_SCAN (HID usage; value not used)
		ev(evKey, code, v)
		ev(0, 0, 0) // EV_SYN SYN_REPORT
	}
	press := func(code uint16, mod uint16) {
		if mod != 0 {
			key(mod, 1)
		}
		key(code, 1)
		at = at.Add(step / 2)
		key(code, 0)
		if mod != 0 {
			key(mod, 0)
		}
		at = at.Add(step / 2)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == GS {
			press(keyRightBrce, keyLeftCtrl)
			continue
		}
		c, ok := codes[s[i]]
		if !ok {
			t.Fatalf("no US key types %q", s[i])
		}
		var mod uint16
		if c[1] == 1 {
			mod = keyLeftShift
		}
		press(c[0], mod)
	}
	if enter {
		press(keyEnter, 0)
	}
	return out
}

func decodeAll(b []byte) string {
	var d KeyDecoder
	var out []byte
	for len(b) >= InputEventSize {
		if c, ok := d.Key(DecodeInputEvent(b[:InputEventSize])); ok {
			out = append(out, c)
		}
		b = b[InputEventSize:]
	}
	return string(out)
}

func TestKeyDecoder(t *testing.T) {
	t0 := time.Unix(1764460800, 123000)
	for _, s := range []string{"11010519491231002X", "STAFF-0002", "]d2010690123456789217261231\x1d10AB-12",
		"YBDEMO0000000000000002", "a~!@#$%^&*()_+{}|:\"<>? `-=[]\\;',./"} {
		if got := decodeAll(keyboardEvents(t, s, true, t0, 2*time.Millisecond)); got != s+"\r" {
			t.Errorf("decoded %q, want %q", got, s+"\r")
		}
	}
	if e := DecodeInputEvent(EncodeInputEvent(InputEvent{Time: t0, Type: 1, Code: 28, Value: 1})); !e.Time.Equal(t0) || e.Code != 28 || e.Value != 1 {
		t.Errorf("round trip: %+v", e)
	}
	// Caps Lock inverts letters only; autorepeat and releases type nothing; keypad digits.
	var d KeyDecoder
	var got []byte
	for _, e := range []InputEvent{{Type: evKey, Code: keyCapsLock, Value: 1}, {Type: evKey, Code: keyCapsLock, Value: 0},
		{Type: evKey, Code: 30, Value: 1}, {Type: evKey, Code: 30, Value: 2}, {Type: evKey, Code: 30, Value: 0},
		{Type: evKey, Code: 2, Value: 1}, {Type: evKey, Code: 79, Value: 1}, {Type: evKey, Code: keyKPEnter, Value: 1}} {
		if c, ok := d.Key(e); ok {
			got = append(got, c)
		}
	}
	if string(got) != "A11\r" {
		t.Errorf("caps/repeat/keypad: %q", got)
	}
}

// The reader from the device file onward, through a real pipe carrying the kernel's
// struct input_event layout (this machine has no /dev/uinput to create a real input
// device): scans with Enter, a code without suffix ended by the idle gap, GS1 with
// Ctrl+] as GS, events split across writes, then the device going away and coming back.
func TestWedgeDeviceThroughPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	open := func(path string, grab bool) (io.ReadCloser, error) {
		if !grab {
			t.Error("the reader must grab the device")
		}
		if opens.Add(1) == 1 {
			return r, nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The idle gap ends a code without suffix. Here it is generous: the events carry the
	// time they were made, and a writer held up on a loaded machine must not look like a
	// scanner pausing in the middle of a code.
	dev, err := openWedgeDevice(ctx, WedgeDeviceConfig{Path: "/dev/input/by-id/usb-Scanner-event-kbd",
		IdleGap: 500 * time.Millisecond, MaxReconnectWait: 50 * time.Millisecond}, testClassifier(), nil, open)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	next := func(want EventType) Event {
		t.Helper()
		for {
			select {
			case ev, ok := <-dev.Events():
				if !ok {
					t.Fatalf("events closed waiting for %s", want)
				}
				if ev.Type == want {
					return ev
				}
				if want != EventDevice && ev.Type == EventDevice {
					t.Fatalf("device event %s %s while waiting for %s", ev.State, ev.Err, want)
				}
			case <-ctx.Done():
				t.Fatalf("no %s event", want)
			}
		}
	}
	if ev := next(EventDevice); ev.State != StateConnected {
		t.Fatalf("first state %s %s", ev.State, ev.Err)
	}
	write := func(b []byte, chunk int) {
		for len(b) > 0 {
			n := min(chunk, len(b))
			if _, err := w.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	}
	now := time.Now()
	write(keyboardEvents(t, "11010519491231002X", true, now, 2*time.Millisecond), 7) // 7-byte writes split events
	if s := next(EventScan).Scan; s.Kind != KindIDNumber || !s.Valid || s.Masked != "1101**********002X" {
		t.Fatalf("ID scan: %v", s)
	}
	write(keyboardEvents(t, "STAFF-0002", true, time.Now(), time.Millisecond), 4096)
	if s := next(EventScan).Scan; s.Kind != KindStaffBadge || s.StaffID != "0002" {
		t.Fatalf("badge: %v", s)
	}
	write(keyboardEvents(t, "]d2010690123456789217261231\x1d10AB-12", true, time.Now(), time.Millisecond), 100)
	if s := next(EventScan).Scan; s.Kind != KindGS1 || s.Batch != "AB-12" || s.Expiry != "2026-12-31" {
		t.Fatalf("GS1 with Ctrl+]: %v", s)
	}
	write(keyboardEvents(t, "6901234567892", false, time.Now(), time.Millisecond), 4096) // no suffix
	if s := next(EventScan).Scan; s.Kind != KindGTIN || s.Code != "6901234567892" {
		t.Fatalf("no-suffix code: %v", s)
	}
	write(keyboardEvents(t, "110105194912310029", true, time.Now(), time.Millisecond), 4096)
	if s := next(EventScan).Scan; s.Valid || s.Problem == nil || s.Problem.Code != "id.check" {
		t.Fatalf("bad ID: %v %+v", s, s.Problem)
	}
	w.Close() // unplugged
	if ev := next(EventDevice); ev.State != StateWaiting || ev.Problem == nil || ev.Problem.Code != "device.unplugged" {
		t.Fatalf("after EOF: %+v", ev)
	}
	if ev := next(EventDevice); ev.State != StateWaiting || ev.Problem == nil || ev.Problem.Code != "device.absent" {
		t.Fatalf("absent: %+v", ev)
	}
}

// OpenWedgeDevice refuses what is not an input device (EVIOCGRAB fails) and waits for a
// missing one.
func TestOpenWedgeDeviceRefuses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("input devices are read on Linux only")
	}
	file := filepath.Join(t.TempDir(), "not-a-device")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{file: StateError, filepath.Join(t.TempDir(), "absent"): StateWaiting} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		dev, err := OpenWedgeDevice(ctx, WedgeDeviceConfig{Path: path}, testClassifier(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ev := <-dev.Events()
		dev.Close()
		cancel()
		if ev.Type != EventDevice || ev.State != want {
			t.Fatalf("%s: %+v, want state %s", path, ev, want)
		}
		if want == StateError && (!strings.Contains(ev.Err, "not an input event device") || ev.Problem == nil ||
			!errors.Is(ev.Problem, ErrNotInputDevice)) {
			t.Fatalf("%s: %q", path, ev.Err)
		}
	}
}

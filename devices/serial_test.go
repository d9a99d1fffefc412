package devices

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/tarm/serial"
)

// ptyDevice is a scanner simulated by a PTY pair. The reader opens a stable symlink (like
// /dev/serial/by-id/…) that points at the slave; unplug closes the pair, replug creates a new
// pair and re-points the symlink, as udev does when a USB scanner comes back.
type ptyDevice struct {
	t      *testing.T
	link   string
	master *os.File
	slave  *os.File
}

func newPTYDevice(t *testing.T) *ptyDevice {
	d := &ptyDevice{t: t, link: filepath.Join(t.TempDir(), "scanner")}
	d.replug()
	t.Cleanup(d.unplug)
	return d
}

func (d *ptyDevice) replug() {
	d.t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		d.t.Fatalf("pty: %v", err)
	}
	d.master, d.slave = m, s
	tmp := d.link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(s.Name(), tmp); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, d.link); err != nil {
		d.t.Fatal(err)
	}
}

func (d *ptyDevice) unplug() {
	if d.master != nil {
		d.master.Close()
		d.slave.Close()
		d.master, d.slave = nil, nil
	}
}

func (d *ptyDevice) write(s string) {
	d.t.Helper()
	if _, err := d.master.Write([]byte(s)); err != nil {
		d.t.Fatalf("write to pty master: %v", err)
	}
}

func openTestReader(t *testing.T, cfg SerialConfig) *SerialReader {
	t.Helper()
	r, err := OpenSerial(context.Background(), cfg, testClassifier(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// waitEvent returns the first event matching pred, failing after timeout.
func waitEvent(t *testing.T, r *SerialReader, timeout time.Duration, what string, pred func(Event) bool) Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-r.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %s", what)
			}
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, timeout)
		}
	}
}

func isState(s string) func(Event) bool {
	return func(ev Event) bool { return ev.Type == EventDevice && ev.State == s }
}

// nextFrames collects n scan or error events.
func nextFrames(t *testing.T, r *SerialReader, n int) []Event {
	t.Helper()
	var out []Event
	for len(out) < n {
		out = append(out, waitEvent(t, r, 3*time.Second, "frame event", func(ev Event) bool {
			return ev.Type == EventScan || ev.Type == EventError
		}))
	}
	return out
}

func TestSerialTerminatorsAndPartialWrites(t *testing.T) {
	dev := newPTYDevice(t)
	r := openTestReader(t, SerialConfig{Port: dev.link})
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))

	dev.write("6901234567892\r")
	dev.write("96385074\n")
	dev.write("STAFF-0042\r\n")
	dev.write("]E06901234567892\r\n11010519491231002X\r")
	// Partial writes within the idle gap form one frame.
	for _, part := range []string{"8123456", "01234", "56789", "012", "\r\n"} {
		dev.write(part)
		time.Sleep(5 * time.Millisecond)
	}
	evs := nextFrames(t, r, 6)
	want := []struct {
		kind Kind
		code string
	}{{KindGTIN, "6901234567892"}, {KindGTIN, "96385074"}, {KindStaffBadge, ""}, {KindGTIN, "6901234567892"}, {KindIDNumber, ""}, {KindTraceCode, "81234560123456789012"}}
	for i, w := range want {
		s := evs[i].Scan
		if evs[i].Type != EventScan || s == nil || s.Kind != w.kind || !s.Valid || s.Code != w.code {
			t.Errorf("frame %d: %+v, want %s %q", i, s, w.kind, w.code)
		}
	}
	if evs[2].Scan.StaffID != "0042" || evs[3].Scan.Symbology != "EAN-13" || evs[4].Scan.Masked != "1101**********002X" {
		t.Errorf("details: %v / %v / %v", evs[2].Scan, evs[3].Scan, evs[4].Scan)
	}
}

func TestSerialIdleGapFrames(t *testing.T) {
	dev := newPTYDevice(t)
	r := openTestReader(t, SerialConfig{Port: dev.link, IdleGap: 50 * time.Millisecond})
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))
	// A scanner with no suffix: frames end after 50 ms of silence.
	dev.write("6901234567892")
	time.Sleep(200 * time.Millisecond)
	dev.write("96385")
	time.Sleep(10 * time.Millisecond)
	dev.write("074")
	evs := nextFrames(t, r, 2)
	if evs[0].Scan.Code != "6901234567892" || evs[1].Scan.Code != "96385074" || !evs[1].Scan.Valid {
		t.Errorf("idle-gap frames: %v, %v", evs[0].Scan, evs[1].Scan)
	}
}

func TestSerialRejectsAndContinues(t *testing.T) {
	dev := newPTYDevice(t)
	r := openTestReader(t, SerialConfig{Port: dev.link})
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))
	go func() {
		// Oversize frame, then garbage frames, then a good one; the writer may block while
		// the reader drains the PTY buffer.
		dev.master.Write([]byte(strings.Repeat("7", 6000) + "\r\n"))
		dev.master.Write([]byte("bad\x00frame\r\n\x1b[Aesc\r\nok\xff\xfe\r\n"))
		dev.master.Write([]byte("6901234567892\r\n"))
	}()
	evs := nextFrames(t, r, 5)
	for i, want := range []error{ErrFrameTooLong, ErrControlBytes, ErrControlBytes, ErrBadEncoding} {
		ev := evs[i]
		if ev.Type != EventError || ev.Scan == nil || ev.Scan.Kind != KindUnknown || ev.Scan.Valid || !strings.Contains(ev.Err, want.Error()) {
			t.Errorf("event %d: %+v (scan %v), want error %v", i, ev, ev.Scan, want)
		}
	}
	if !strings.Contains(evs[0].Err, "6000 bytes") {
		t.Errorf("oversize error should give the size: %q", evs[0].Err)
	}
	if last := evs[4]; last.Type != EventScan || last.Scan.Code != "6901234567892" || !last.Scan.Valid {
		t.Errorf("reading did not continue after rejects: %+v", last.Scan)
	}
}

func TestSerialUnplugReplug(t *testing.T) {
	dev := newPTYDevice(t)
	r := openTestReader(t, SerialConfig{Port: dev.link, MaxReconnectWait: time.Second})
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))
	dev.write("96385074\r")
	if ev := nextFrames(t, r, 1)[0]; ev.Scan.Code != "96385074" {
		t.Fatalf("before unplug: %v", ev.Scan)
	}

	dev.unplug()
	ev := waitEvent(t, r, 3*time.Second, "waiting", isState(StateWaiting))
	if ev.Err == "" {
		t.Error("waiting event without a reason")
	}
	// While unplugged the reader must sleep, not spin: count reads and open attempts.
	time.Sleep(200 * time.Millisecond)
	reads0, opens0 := r.reads.Load(), r.opens.Load()
	time.Sleep(2 * time.Second)
	reads, opens := r.reads.Load()-reads0, r.opens.Load()-opens0
	if reads > 0 {
		t.Errorf("%d reads while unplugged", reads)
	}
	if opens < 1 || opens > 8 {
		t.Errorf("%d open attempts in 2 s while unplugged; want 1..8 (backoff)", opens)
	}

	replugged := time.Now()
	dev.replug()
	waitEvent(t, r, 3*time.Second, "connected again", isState(StateConnected))
	if d := time.Since(replugged); d > 2*time.Second {
		t.Errorf("reconnected %v after the port returned; want ≤ 2 s", d)
	}
	dev.write("6901234567892\r\n")
	if ev := nextFrames(t, r, 1)[0]; ev.Scan.Code != "6901234567892" {
		t.Errorf("after replug: %v", ev.Scan)
	}
}

// Connected and idle, the reader blocks in Read for ReadTimeout at a time: a handful of reads
// per second, not a spin.
func TestSerialIdleNoSpin(t *testing.T) {
	dev := newPTYDevice(t)
	r := openTestReader(t, SerialConfig{Port: dev.link, ReadTimeout: 100 * time.Millisecond})
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))
	reads0 := r.reads.Load()
	time.Sleep(time.Second)
	if n := r.reads.Load() - reads0; n > 15 {
		t.Errorf("%d reads in 1 s while idle; want about 10", n)
	}
}

func TestSerialPortAppearsLaterAndNotATTY(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "later")
	r := openTestReader(t, SerialConfig{Port: link})
	ev := waitEvent(t, r, 3*time.Second, "waiting", isState(StateWaiting))
	if !strings.Contains(ev.Err, "not present") {
		t.Errorf("waiting reason %q", ev.Err)
	}
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer s.Close()
	if err := os.Symlink(s.Name(), link); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))

	// A regular file is not a serial port: state error with the reason, and retrying.
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("x"), 0o600)
	r2 := openTestReader(t, SerialConfig{Port: plain})
	ev = waitEvent(t, r2, 3*time.Second, "error", isState(StateError))
	if !strings.Contains(ev.Err, "open "+plain) {
		t.Errorf("error reason %q", ev.Err)
	}
}

func TestSerialCloseDuringBlockedRead(t *testing.T) {
	before := runtime.NumGoroutine()
	dev := newPTYDevice(t)
	r, err := OpenSerial(context.Background(), SerialConfig{Port: dev.link, ReadTimeout: time.Second}, testClassifier(), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))
	time.Sleep(150 * time.Millisecond) // the read goroutine is now blocked in read(2)
	start := time.Now()
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close hangs during a blocked read")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Close took %v; want about one ReadTimeout at most", d)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for range r.Events() { // drains and ends: the channel is closed
	}
	waitGoroutines(t, before)
}

func TestSerialStopsOnContextCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	dev := newPTYDevice(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := OpenSerial(ctx, SerialConfig{Port: dev.link}, testClassifier(), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, r, 3*time.Second, "connected", isState(StateConnected))
	cancel()
	select {
	case <-r.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("reader did not stop on cancel")
	}
	// Also stops while waiting for a missing port.
	ctx2, cancel2 := context.WithCancel(context.Background())
	r2, _ := OpenSerial(ctx2, SerialConfig{Port: filepath.Join(t.TempDir(), "none")}, testClassifier(), nil)
	waitEvent(t, r2, 3*time.Second, "waiting", isState(StateWaiting))
	cancel2()
	r2.Close()
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSerialConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg SerialConfig
		has string
	}{
		{SerialConfig{}, "no port"},
		{SerialConfig{Port: "/dev/x", Baud: 9601}, "unsupported baud rate 9601"},
		{SerialConfig{Port: "/dev/x", DataBits: 9}, "data bits"},
		{SerialConfig{Port: "/dev/x", Parity: "M"}, "parity"},
		{SerialConfig{Port: "/dev/x", StopBits: 3}, "stop bits"},
		{SerialConfig{Port: "/dev/x", ReadTimeout: 10 * time.Millisecond}, "read timeout"},
	} {
		_, err := OpenSerial(context.Background(), c.cfg, testClassifier(), nil)
		if err == nil || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.has)
		}
	}
	if _, err := OpenSerial(context.Background(), SerialConfig{Port: "/dev/x"}, nil, nil); err == nil {
		t.Error("nil classifier accepted")
	}
	if cfg, err := (SerialConfig{Port: "/dev/x", Parity: "even", StopBits: 2, DataBits: 7}).withDefaults(); err != nil ||
		cfg.tarm().Parity != 'E' || cfg.tarm().Size != 7 || cfg.Baud != 9600 {
		t.Errorf("defaults: %+v %v", cfg, err)
	}
}

// After a hang-up that happens between reads, tarm/serial returns (0, EOF) at once, forever.
// The read loop must call that an unplug after a few reads instead of spinning.
func TestSerialInstantEOFIsUnplug(t *testing.T) {
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := SerialConfig{Port: s.Name()}.withDefaults()
	port, err := serial.OpenPort(cfg.tarm())
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	s.Close()
	m.Close() // hang up while nobody is reading
	r := &SerialReader{cfg: cfg}
	out := make(chan chunk, 4)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { r.readLoop(port, out, stop); close(done) }()
	select {
	case c := <-out:
		if !errors.Is(c.err, errUnplugged) || !strings.Contains(c.err.Error(), "end-of-file without waiting") {
			t.Errorf("chunk %+v, want instant-EOF unplug", c)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("instant EOFs not detected")
	}
	<-done
	if n := r.reads.Load(); n != instantEOFLimit {
		t.Errorf("%d reads before giving up; want %d", n, instantEOFLimit)
	}
}

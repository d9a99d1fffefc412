package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/pharmachain/counter/devices"
)

// scanner is a USB scanner simulated by PTY pairs behind a stable symlink, as udev's
// /dev/serial/by-id/… link: unplug closes the pair, replug makes a new one.
type scanner struct {
	t             *testing.T
	link          string
	master, slave *os.File
}

func (s *scanner) plug() {
	s.t.Helper()
	m, sl, err := pty.Open()
	if err != nil {
		s.t.Fatal(err)
	}
	s.master, s.slave = m, sl
	tmp := s.link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(sl.Name(), tmp); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, s.link); err != nil {
		s.t.Fatal(err)
	}
}

func (s *scanner) unplug() {
	if s.master != nil {
		s.master.Close()
		s.slave.Close()
		s.master, s.slave = nil, nil
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSerialUnplugCycles closes and reopens the scanner's PTY 50 times under a reading
// kiosk: every frame written while connected is classified exactly once, the reader's
// goroutines are all gone after Close, and the process stays idle while unplugged.
func TestSerialUnplugCycles(t *testing.T) {
	const cycles, perCycle = 50, 3
	before := runtime.NumGoroutine()
	dev := &scanner{t: t, link: filepath.Join(t.TempDir(), "scanner")}
	dev.plug()
	defer dev.unplug()
	cls := &devices.Classifier{Secret: []byte("serial-fault-test-secret-0123456789")}
	r, err := devices.OpenSerial(context.Background(), devices.SerialConfig{Port: dev.link, MaxReconnectWait: 200 * time.Millisecond}, cls, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	scans := make(chan string, 64)
	states := make(chan string, 16)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for ev := range r.Events() {
			switch ev.Type {
			case devices.EventScan:
				if ev.Scan.Kind == devices.KindStaffBadge {
					seen[ev.Scan.StaffID]++
					scans <- ev.Scan.StaffID
				}
			case devices.EventDevice:
				select {
				case states <- ev.State:
				default:
				}
			}
		}
	}()
	waitState := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case s := <-states:
				if s == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %q device state within 5 s", want)
			}
		}
	}
	var idleCPU, idleWall time.Duration
	written := 0
	for c := 0; c < cycles; c++ {
		if c > 0 {
			dev.plug()
		}
		waitState(devices.StateConnected)
		for i := 0; i < perCycle; i++ {
			if _, err := fmt.Fprintf(dev.master, "STAFF-C%02dF%d\r\n", c, i); err != nil {
				t.Fatal(err)
			}
			written++
		}
		// The frames reach the kiosk before the cable goes (bytes still in the PTY when its
		// master closes are lost, as on a real cable pulled mid-transmission).
		for i := 0; i < perCycle; i++ {
			select {
			case <-scans:
			case <-time.After(5 * time.Second):
				t.Fatalf("cycle %d: frame %d of %d not classified within 5 s", c, i+1, perCycle)
			}
		}
		dev.unplug()
		waitState(devices.StateWaiting)
		if c == cycles/2 {
			// Unplugged for a second: a reader spinning on instant EOFs would burn a core.
			cpu0, wall0 := cpuTime(), time.Now()
			time.Sleep(time.Second)
			idleCPU, idleWall = cpuTime()-cpu0, time.Since(wall0)
		}
	}
	if err := r.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	<-collected
	for c := 0; c < cycles; c++ {
		for i := 0; i < perCycle; i++ {
			id := fmt.Sprintf("C%02dF%d", c, i)
			if seen[id] != 1 {
				t.Errorf("frame %s classified %d times, want once", id, seen[id])
			}
		}
	}
	if len(seen) != written {
		t.Errorf("%d distinct frames classified, %d written", len(seen), written)
	}
	if idleCPU > idleWall/5 {
		t.Errorf("CPU %v during %v unplugged: the reader spins", idleCPU, idleWall)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutine leak: %d before, %d after 50 unplug cycles", before, n)
	}
	t.Logf("%d cycles, %d frames each classified once, CPU %v in %v unplugged", cycles, written, idleCPU, idleWall.Round(time.Millisecond))
}

// Package realwin runs a kiosk binary in a real window for tests: a private Xvfb, the
// kiosk process with its debug log, xdotool to type into the GLFW window as a scanner or
// a person does, and copies of the kiosk's bbolt store to look at what it saved. Every
// wait polls for its event with a deadline generous for a loaded 2-core machine; none
// sleeps for a result. Linux only (Xvfb, xdotool: `make deps`).
package realwin

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

// Deadlines: generous for a loaded 2-core machine; every wait polls for its event.
const (
	StartDeadline = 90 * time.Second
	StepDeadline  = 30 * time.Second
)

// Available skips t unless this machine can run a real window (Linux, Xvfb, xdotool).
func Available(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("real-window tests drive Xvfb and xdotool (Linux)")
	}
	for _, tool := range []string{"Xvfb", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: `make deps` installs it (APT_TEST)", tool)
		}
	}
}

// Build builds a command (with -race when the calling test binary runs with it, so the
// real window is checked for data races too) and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// NewX is xdotool on display.
func NewX(t testing.TB, display string) *X { return &X{t: t, display: display} }

// Xvfb starts a private X server on a free display (-displayfd): tests and other
// Xvfb users run side by side.
func Xvfb(t testing.TB) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// No autorepeat: a starved X server would repeat a key whose release it has not
	// processed yet (a real scanner's keys never last that long).
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset",
		"-r", "-ardelay", "30000")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
		r.Close()
	}()
	select {
	case n := <-got:
		if _, err := strconv.Atoi(n); err != nil {
			t.Fatalf("Xvfb did not report its display (%q): %s", n, stderr.String())
		}
		return ":" + n
	case <-time.After(StartDeadline):
		t.Fatalf("Xvfb did not start within %v: %s", StartDeadline, stderr.String())
	}
	return ""
}

// Kiosk is a running kiosk: its log (stderr, debug level), its data dir and its exit.
type Kiosk struct {
	t       testing.TB
	dataDir string
	cmd     *exec.Cmd
	mu      sync.Mutex
	log     []string
	done    chan struct{} // closed once the process exited and its log was read
	exitErr error
}

// Start runs bin --data dataDir -v args… on display, with a Chinese locale. When the test
// ends it is interrupted (SIGINT) and waited for; its log is printed if the test failed.
func Start(t testing.TB, bin, display, dataDir string, args ...string) *Kiosk {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--data", dataDir, "-v"}, args...)...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=zh_CN.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kiosk: %v", err)
	}
	k := &Kiosk{t: t, dataDir: dataDir, cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			k.mu.Lock()
			k.log = append(k.log, sc.Text())
			k.mu.Unlock()
		}
		k.exitErr = cmd.Wait()
		close(k.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // fails only when it has exited already
		select {
		case <-k.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-k.done
		}
		if t.Failed() {
			k.mu.Lock()
			t.Logf("kiosk log (%d lines, exit %v):\n%s", len(k.log), k.exitErr, strings.Join(k.log, "\n"))
			k.mu.Unlock()
		}
	})
	return k
}

// Kill kills the kiosk with SIGKILL, as a crash or a power cut would stop it, and waits
// until it is gone.
func (k *Kiosk) Kill() {
	k.t.Helper()
	if err := k.cmd.Process.Kill(); err != nil {
		k.t.Fatalf("kill -9 the kiosk: %v", err)
	}
	<-k.done
}

// Exit waits for the kiosk to exit by itself and returns its exit code.
func (k *Kiosk) Exit() int {
	k.t.Helper()
	select {
	case <-k.done:
	case <-time.After(StepDeadline):
		k.t.Fatalf("the kiosk did not exit within %v", StepDeadline)
	}
	if k.exitErr == nil {
		return 0
	}
	if ee, ok := k.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	k.t.Fatalf("kiosk: %v", k.exitErr)
	return -1
}

// Mark is a position in the log; waits look at lines after it.
func (k *Kiosk) Mark() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.log)
}

func (k *Kiosk) LinesAfter(m int) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.log[m:]...)
}

func (k *Kiosk) WaitLog(s string) { k.t.Helper(); k.WaitLogAfter(0, s) }

// SeenAfter waits up to d for a log line after m containing s and reports whether one
// came (a wait that may fail, e.g. before retrying a click).
func (k *Kiosk) SeenAfter(m int, s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		for _, l := range k.LinesAfter(m) {
			if strings.Contains(l, s) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitLogAfter waits until a log line after m contains s.
func (k *Kiosk) WaitLogAfter(m int, s string) {
	k.t.Helper()
	deadline := time.Now().Add(StepDeadline)
	for {
		for _, l := range k.LinesAfter(m) {
			if strings.Contains(l, s) {
				return
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("no log line %q within %v; log since mark:\n%s", s, StepDeadline, strings.Join(k.LinesAfter(m), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (k *Kiosk) MustNotLogAfter(m int, s string) {
	k.t.Helper()
	for _, l := range k.LinesAfter(m) {
		if strings.Contains(l, s) {
			k.t.Fatalf("unexpected log line %q:\n%s", l, strings.Join(k.LinesAfter(m), "\n"))
		}
	}
}

// WithStore opens a copy of the running kiosk's store (bbolt locks the file; its meta
// pages are checksummed, so a copy opens at the last committed transaction).
func (k *Kiosk) WithStore(f func(st *store.Store) bool) bool {
	b, err := os.ReadFile(store.DefaultPath(k.dataDir))
	if err != nil {
		return false
	}
	dir, err := os.MkdirTemp("", "wedgee2e-store-")
	if err != nil {
		k.t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p := store.DefaultPath(dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		k.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		k.t.Fatal(err)
	}
	st, err := store.Open(p, store.Options{})
	if err != nil {
		return false
	}
	defer st.Close()
	return f(st)
}

func (k *Kiosk) WaitStore(what string, cond func(st *store.Store) bool) {
	k.t.Helper()
	deadline := time.Now().Add(StepDeadline)
	for !k.WithStore(cond) {
		if time.Now().After(deadline) {
			k.t.Fatalf("store: %s not within %v", what, StepDeadline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (k *Kiosk) Visits(match func(flows.Visit) bool) []flows.Visit {
	var out []flows.Visit
	k.WithStore(func(st *store.Store) bool {
		today := flows.DayOf(time.Now())
		vs, err := st.Visits(context.Background(), today-1, today+1)
		if err != nil {
			return false
		}
		for _, v := range vs {
			if match(v) {
				out = append(out, v)
			}
		}
		return true
	})
	return out
}

// waitVisit polls the store until a visit matches.
func (k *Kiosk) WaitVisit(what string, match func(flows.Visit) bool) flows.Visit {
	k.t.Helper()
	deadline := time.Now().Add(StepDeadline)
	for {
		if vs := k.Visits(match); len(vs) == 1 {
			return vs[0]
		} else if len(vs) > 1 {
			k.t.Fatalf("store: %d visits for %s", len(vs), what)
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("store: no %s within %v; log:\n%s", what, StepDeadline, strings.Join(k.LinesAfter(max(0, k.Mark()-30)), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var ptyRE = regexp.MustCompile(`msg="scanner state" port=(\S+) state=connected`)

// PTYPath is the demo scanner's PTY, as the kiosk logged it.
func (k *Kiosk) PTYPath() string {
	for _, l := range k.LinesAfter(0) {
		if m := ptyRE.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	k.t.Fatal("the kiosk did not log its demo scanner port")
	return ""
}

var heldRE = regexp.MustCompile(`msg=key rune=true held=([0-9.]+[µm]?s)`)

// PersonLatencies are the logged holds of a person's characters (arrival → screen).
func (k *Kiosk) PersonLatencies() []time.Duration {
	var out []time.Duration
	for _, l := range k.LinesAfter(0) {
		if m := heldRE.FindStringSubmatch(l); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// X runs xdotool on the test's display, at real-time priority when allowed, so that a
// loaded machine does not stretch its "scanner" keys.
type X struct {
	t       testing.TB
	display string
	prefix  []string
	checked bool
}

func (x *X) Run(args ...string) string {
	x.t.Helper()
	if !x.checked {
		x.checked = true
		if exec.Command("chrt", "-f", "10", "true").Run() == nil {
			x.prefix = []string{"chrt", "-f", "10"}
		} else if exec.Command("nice", "-n", "-10", "true").Run() == nil {
			x.prefix = []string{"nice", "-n", "-10"}
		}
	}
	argv := append(append(append([]string(nil), x.prefix...), "xdotool"), args...)
	ctx, cancel := context.WithTimeout(context.Background(), StepDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		x.t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// WaitWindow waits for a window whose name contains name.
func (x *X) WaitWindow(name string) string {
	x.t.Helper()
	deadline := time.Now().Add(StartDeadline)
	for {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", name)
		cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
		if out, err := cmd.Output(); err == nil {
			if ids := strings.Fields(string(out)); len(ids) > 0 {
				return ids[0]
			}
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("no window %q within %v", name, StartDeadline)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (x *X) Focus(win string) { x.t.Helper(); x.Run("windowfocus", "--sync", win) }

// Scan types code then Enter as a keyboard-wedge scanner: --delay 1 (≈ 1–3 ms per key)
// or 0. The window is focused first (no window manager: nothing else moves the focus).
func (x *X) Scan(win string, delayMS int, code string) {
	x.t.Helper()
	x.Focus(win)
	x.Run("type", "--delay", strconv.Itoa(delayMS), code)
	x.Run("key", "--delay", strconv.Itoa(delayMS), "Return")
}

// PersonType types text at ~80 ms per key (xdotool waits half its --delay between a
// key's press and release, half after).
func (x *X) PersonType(win, text string) {
	x.t.Helper()
	x.Focus(win)
	x.Run("type", "--delay", "160", text)
	time.Sleep(150 * time.Millisecond)
}

// Person presses keys (xdotool key names) 150 ms apart, as a person types.
func (x *X) Person(win string, keys ...string) {
	x.t.Helper()
	x.Focus(win)
	for i, k := range keys {
		if i > 0 {
			time.Sleep(150 * time.Millisecond)
		}
		x.Run("key", k)
	}
	time.Sleep(150 * time.Millisecond) // the next key, whoever types it, comes later still
}

// Click clicks at (px, py) in the window (a text field, to give it the focus).
func (x *X) Click(win string, px, py int) {
	x.t.Helper()
	x.Run("mousemove", "--window", win, strconv.Itoa(px), strconv.Itoa(py), "click", "1")
}

// Type types text into the focused field at ~20 ms per key.
func (x *X) Type(win, text string) {
	x.t.Helper()
	x.Focus(win)
	x.Run("type", "--delay", "20", text)
}

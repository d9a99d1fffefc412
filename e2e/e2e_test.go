// Package e2e proves the product under faults with real processes, real files and real
// HTTP: the kiosk killed with SIGKILL during saves and sync, HQ killed during ingest, HQ
// unreachable for a (simulated) hour, and no raw identifier in any file written.
//
// `make test` runs a shortened form; `make crash-test` (CRASH_FULL=1) runs the full
// counts (100 kiosk kills, 20 HQ kills, a one-hour outage compressed
// into a minute).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins holds the binaries built once for the whole package.
type bins struct {
	hq, driver string
}

var built struct {
	once sync.Once
	b    bins
	err  error
}

// binaries builds cmd/hq and the kiosk driver (without -race: they are the processes
// under test, killed many times; the race detector runs in the unit tests).
func binaries(t *testing.T) bins {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "e2e-bin-")
		if err != nil {
			built.err = err
			return
		}
		for name, pkg := range map[string]string{"hq": "github.com/pharmachain/counter/cmd/hq", "kioskdriver": "github.com/pharmachain/counter/e2e/cmd/kioskdriver"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
		built.b = bins{hq: filepath.Join(dir, "hq"), driver: filepath.Join(dir, "kioskdriver")}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.b
}

func full() bool { return os.Getenv("CRASH_FULL") != "" }

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runOut runs a command to completion and returns its stdout.
func runOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// hqProc is a running `hq serve`.
type hqProc struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

func startHQ(t *testing.T, b bins, data, addr string) *hqProc {
	t.Helper()
	p := &hqProc{addr: addr, logs: &bytes.Buffer{}}
	p.cmd = exec.Command(b.hq, "serve", "--data", data, "--addr", addr)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	t.Fatalf("hq did not become healthy on %s:\n%s", addr, p.logs.String())
	return nil
}

func (p *hqProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

func (p *hqProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hq exit after SIGTERM: %v\n%s", err, p.logs.String())
		}
	case <-time.After(20 * time.Second):
		p.kill()
		t.Errorf("hq did not stop within 20 s of SIGTERM")
	}
}

// driverProc is a running kioskdriver whose ACK lines are collected.
type driverProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	acks   []string
	first  chan struct{}
	done   chan struct{}
	stderr *bytes.Buffer
}

func startDriver(t *testing.T, b bins, data, hqURL, token string, extra ...string) *driverProc {
	t.Helper()
	d := &driverProc{first: make(chan struct{}), done: make(chan struct{}), stderr: &bytes.Buffer{}}
	args := append([]string{"--data", data, "--hq", hqURL, "--token", token}, extra...)
	d.cmd = exec.Command(b.driver, args...)
	d.cmd.Stderr = d.stderr
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go d.read(out)
	return d
}

func (d *driverProc) read(r io.Reader) {
	defer close(d.done)
	sc := bufio.NewScanner(r)
	once := sync.Once{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "ACK" {
			d.mu.Lock()
			d.acks = append(d.acks, f[1])
			d.mu.Unlock()
			once.Do(func() { close(d.first) })
		}
	}
}

// wait waits for the process and its output; it returns the ACKed ids in order.
func (d *driverProc) wait() ([]string, error) {
	<-d.done
	err := d.cmd.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.acks...), err
}

func (d *driverProc) kill() []string {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	acks, _ := d.wait()
	return acks
}

func (d *driverProc) stop(t *testing.T) []string {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	acks, err := d.wait()
	if err != nil {
		t.Errorf("kioskdriver exit after SIGTERM: %v\n%s", err, d.stderr.String())
	}
	return acks
}

// drainAll runs the driver in --drain-only mode and checks it drained.
func drainAll(t *testing.T, b bins, data, hqURL, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, b.driver, "--data", data, "--hq", hqURL, "--token", token, "--drain-only")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("drain-only: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "DRAINED") || !strings.Contains(out.String(), "rejected=0") {
		t.Fatalf("drain-only did not drain cleanly: %s\n%s", out.String(), errb.String())
	}
}

package counter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/kiosk/demo/demohq"
	"github.com/pharmachain/counter/sync/hqclient"
)

type setupRig struct {
	t *testing.T
	s *Setup
	q chan func()
}

func newSetupRig(t *testing.T, openPort func(Config) error) *setupRig {
	r := &setupRig{t: t, q: make(chan func(), 100)}
	r.s = NewSetup(SetupDeps{
		NewHQ:    func(url, token string) SetupHQ { return hqclient.New(url, token, HQBudget) },
		OpenPort: openPort,
		Post:     func(f func()) { r.q <- f },
	})
	return r
}

// wait runs posted work until field's check is no longer running.
func (r *setupRig) wait(field string) CheckResult {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	for r.s.Result(field).State == Checking {
		select {
		case f := <-r.q:
			f()
		case <-deadline:
			r.t.Fatalf("check %s still running", field)
		}
	}
	return r.s.Result(field)
}

func (r *setupRig) want(field string, st CheckState, key string) {
	r.t.Helper()
	got := r.wait(field)
	if got.State != st || got.Text.Key != key {
		r.t.Fatalf("%s: %v %q %v, want %v %q", field, got.State, got.Text.Key, got.Text.Args, st, key)
	}
}

// The first-start checks, each against the real thing: the demo HQ over HTTP, a real
// secret file, a PTY standing in for the scanner.
func TestSetupChecksLive(t *testing.T) {
	ctx := context.Background()
	hq, err := demohq.StartHQ(ctx, t.TempDir(), loadDomain(t).Catalog, testNow, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hq.Stop()
	pty, err := demo.OpenPTY()
	if err != nil {
		t.Skip("no PTY:", err)
	}
	defer pty.Close()
	var reader *Reader
	r := newSetupRig(t, func(c Config) error { return reader.Open(c) })
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reader = NewReader(rctx, &devices.Classifier{Secret: []byte(demo.Secret)}, nil,
		func(ev devices.Event) { r.q <- func() { r.s.DeviceEvent(ev) } })
	defer reader.Close()

	cfg := DefaultConfig()
	r.s.Check(cfg) // nothing entered
	r.want(CheckSecret, Failed, "setup.secret_missing")
	r.want(CheckHQ, Skipped, "setup.hq_none")
	r.want(CheckPort, Skipped, "setup.port_none")
	var fe *FormError
	if err := r.s.Ready(); !errors.As(err, &fe) || fe.Text.Key != "setup.not_ready.secret" {
		t.Fatalf("ready without a secret: %v", err)
	}

	short := filepath.Join(t.TempDir(), "short.secret")
	if err := os.WriteFile(short, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.SecretFile = short
	cfg.HQURL, cfg.Token = "http://127.0.0.1:1", demo.StoreToken
	r.s.Check(cfg)
	r.want(CheckSecret, Failed, "setup.secret_bad")
	r.want(CheckHQ, Failed, "setup.hq_unreachable")

	good := filepath.Join(t.TempDir(), "chain.secret")
	if err := os.WriteFile(good, []byte(demo.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.SecretFile = good
	cfg.HQURL, cfg.Token = hq.URL, "hqs_wrong"
	r.s.Check(cfg)
	r.want(CheckSecret, Passed, "setup.secret_ok")
	r.want(CheckHQ, Passed, "setup.hq_ok")
	r.want(CheckToken, Failed, "setup.token_refused")

	cfg.Token, cfg.StoreID = demo.StoreToken, "S009"
	r.s.Check(cfg)
	r.want(CheckToken, Passed, "setup.token_ok")
	r.want(CheckStore, Failed, "setup.store_other") // the token is S001's
	cfg.StoreID = demo.StoreID
	r.s.Check(cfg)
	r.want(CheckStore, Passed, "setup.store_roster")

	cfg.Port = pty.Path
	r.s.Check(cfg)
	r.want(CheckPort, Passed, "setup.port_open")
	if err := pty.Send("STAFF-0001"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for r.s.Result(CheckPort).Text.Key != "setup.port_scans" {
		select {
		case f := <-r.q:
			f()
		case <-deadline:
			t.Fatal("the scan on the PTY did not reach the port check")
		}
	}
	r.want(CheckStore, Passed, "setup.store_roster")
	r.want(CheckToken, Passed, "setup.token_ok")
	if err := r.s.Ready(); err != nil {
		t.Fatalf("ready: %v", err)
	}
}

// NeedsSetup: a fresh install (no secret) and a broken secret need the setup screen.
func TestNeedsSetup(t *testing.T) {
	cfg := DefaultConfig()
	var ns *ErrNeedsSetup
	if err := NeedsSetup(cfg); !errors.As(err, &ns) {
		t.Fatalf("fresh install: %v", err)
	}
	cfg.SecretFile = filepath.Join(t.TempDir(), "absent")
	if err := NeedsSetup(cfg); !errors.As(err, &ns) {
		t.Fatalf("absent secret: %v", err)
	}
	good := filepath.Join(t.TempDir(), "chain.secret")
	if err := os.WriteFile(good, []byte(demo.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.SecretFile = good
	if err := NeedsSetup(cfg); err != nil {
		t.Fatalf("configured: %v", err)
	}
	cfg.Baud = 1
	if err := NeedsSetup(cfg); !errors.As(err, &ns) {
		t.Fatalf("bad baud: %v", err)
	}
}

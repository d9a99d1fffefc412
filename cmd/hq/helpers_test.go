package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/server"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runHQ runs the command line and returns exit code, stdout and stderr.
func runHQ(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runHQIn(t, "", args...)
}

// runHQIn is runHQ with stdin as the command's standard input.
func runHQIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	code := run(withStdin(context.Background(), strings.NewReader(stdin)), args, &out, &errb)
	return code, out.String(), errb.String()
}

// servedHQ is `hq serve --demo` running in-process on a free loopback port.
type servedHQ struct {
	base      string // http://127.0.0.1:PORT
	out, errb *syncBuffer
	cancel    context.CancelFunc
	done      chan error
}

// startDemoServe starts `hq serve --demo` on dir; the test must call stop (which checks
// the clean shutdown), and cleanup stops it in any case.
func startDemoServe(t *testing.T, dir string, dispatch time.Duration) *servedHQ {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedHQ{out: &syncBuffer{}, errb: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		s.done <- serve(ctx, serveConfig{dir: dir, addr: "127.0.0.1:0", demo: true, grace: 5 * time.Second,
			dispatchInterval: dispatch, ready: func(a string) { addr <- a }}, s.out, s.errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.done:
		t.Fatalf("serve: %v\n%s", err, s.errb.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return s
}

// stop shuts HQ down as SIGTERM does and fails the test if it did not stop cleanly.
func (s *servedHQ) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatal(err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// openStore opens the embedded store of DIR (creating it), as hq serve --data does.
func openStore(ctx context.Context, dir string) (hq.Store, error) {
	return server.OpenStore(ctx, server.StoreConfig{Dir: dir})
}

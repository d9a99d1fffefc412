package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
)

// Tamper is an HTTP reverse proxy in front of a target that, on command, alters the
// bodies of the target's 200 answers to GET requests for one path — a middlebox that
// corrupts a download (a flipped byte, a cut-off body). Everything else passes as is.
type Tamper struct {
	ln   net.Listener
	srv  *http.Server
	path string
	done chan error

	mu    sync.Mutex
	alter func([]byte) []byte
	n     atomic.Int64
}

// NewTamper starts a tampering proxy on 127.0.0.1 for target (http://host:port),
// altering answers to GET path once Set is given a function.
func NewTamper(target, path string) (*Tamper, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("tamper proxy: target: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("tamper proxy: listen: %w", err)
	}
	t := &Tamper{ln: ln, path: path, done: make(chan error, 1)}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = t.modify
	t.srv = &http.Server{Handler: rp}
	go func() { t.done <- t.srv.Serve(ln) }()
	return t, nil
}

// URL is the proxy's address (http://127.0.0.1:PORT).
func (t *Tamper) URL() string { return "http://" + t.ln.Addr().String() }

// Set makes the proxy pass the bodies of answers to GET path through f (nil: pass them
// unchanged).
func (t *Tamper) Set(f func([]byte) []byte) {
	t.mu.Lock()
	t.alter = f
	t.mu.Unlock()
}

// Tampered counts the answers altered so far.
func (t *Tamper) Tampered() int64 { return t.n.Load() }

func (t *Tamper) modify(resp *http.Response) error {
	t.mu.Lock()
	f := t.alter
	t.mu.Unlock()
	if f == nil || resp.Request.Method != http.MethodGet || resp.Request.URL.Path != t.path || resp.StatusCode != http.StatusOK {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	b = f(b)
	t.n.Add(1)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return nil
}

// Close stops the proxy.
func (t *Tamper) Close() error {
	err := t.srv.Close()
	if serr := <-t.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// FlipByteAfter returns an alteration that flips the lowest bit of the first byte that
// follows the first occurrence of marker (bodies without marker pass unchanged): a
// one-byte corruption in a place the caller chooses, e.g. inside a file of a JSON
// document so that the document still parses.
func FlipByteAfter(marker string) func([]byte) []byte {
	return func(b []byte) []byte {
		i := bytes.Index(b, []byte(marker))
		if i < 0 || i+len(marker) >= len(b) {
			return b
		}
		out := bytes.Clone(b)
		out[i+len(marker)] ^= 1
		return out
	}
}

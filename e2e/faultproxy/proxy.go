// Package faultproxy is a TCP proxy for fault-injection tests: it forwards connections to
// a target and, on command, refuses them, answers 503 with Retry-After, holds them open
// without answering (a paused listener), or drops them mid-stream.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what the proxy does with the next connection.
type Mode int32

// Modes.
const (
	Pass        Mode = iota // forward bytes both ways
	Unavailable             // answer every request with 503 + Retry-After
	Pause                   // accept and hold the connection, never answer
	Drop                    // accept, read a little, then reset the connection
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Unavailable:
		return "503"
	case Pause:
		return "pause"
	case Drop:
		return "drop"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Proxy forwards a local listener to a target address.
type Proxy struct {
	ln         net.Listener
	target     string
	log        *slog.Logger
	mode       atomic.Int32
	retryAfter atomic.Int64 // seconds, for Unavailable

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	// Counters of connections handled per mode.
	counts [4]atomic.Int64
}

// New listens on 127.0.0.1 (a free port) and forwards to target (host:port).
func New(target string, log *slog.Logger) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{ln: ln, target: target, log: log, conns: map[net.Conn]struct{}{}}
	p.retryAfter.Store(3600)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is http://Addr.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// SetMode switches the behaviour for new connections and, for anything but Pass, cuts the
// connections already open so that keep-alive clients see the fault at once.
func (p *Proxy) SetMode(m Mode) {
	p.mode.Store(int32(m))
	if m != Pass {
		p.mu.Lock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
	}
}

// SetRetryAfter sets the Retry-After seconds sent in Unavailable mode.
func (p *Proxy) SetRetryAfter(sec int) { p.retryAfter.Store(int64(sec)) }

// Count returns how many connections were handled in mode m.
func (p *Proxy) Count(m Mode) int64 {
	if m < 0 || int(m) >= len(p.counts) {
		return 0
	}
	return p.counts[m].Load()
}

// Close stops accepting, cuts every connection and waits for the handlers.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.log.Warn("faultproxy accept", "err", err)
			}
			return
		}
		if !p.track(c) {
			return
		}
		m := Mode(p.mode.Load())
		if m >= 0 && int(m) < len(p.counts) {
			p.counts[m].Add(1)
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			p.handle(c, m)
		}()
	}
}

func (p *Proxy) handle(c net.Conn, m Mode) {
	switch m {
	case Unavailable:
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		_, _ = c.Read(buf) // the request head; the body is ignored
		body := `{"error":"HQ unavailable (fault injection)"}`
		_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			p.retryAfter.Load(), len(body), body)
	case Pause:
		// Hold the connection until the client gives up or the mode changes (SetMode closes it).
		_, _ = io.Copy(io.Discard, c)
	case Drop:
		buf := make([]byte, 512)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Read(buf)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST instead of FIN
		}
	default:
		p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		p.log.Debug("faultproxy dial target", "err", err)
		return
	}
	if !p.track(up) {
		return
	}
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

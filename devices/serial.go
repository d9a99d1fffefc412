package devices

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tarm/serial"
)

// Serial defaults.
const (
	DefaultBaud             = 9600
	DefaultReadTimeout      = 100 * time.Millisecond
	MinReadTimeout          = 100 * time.Millisecond
	MaxReadTimeout          = 25 * time.Second // VTIME is at most 25.5 s
	DefaultMaxReconnectWait = time.Second
	minReconnectWait        = 100 * time.Millisecond
	instantEOFLimit         = 3 // this many EOFs in a row without waiting mean "unplugged"
	statInterval            = time.Second
)

// SerialConfig configures a serial scanner or card reader. Zero values take the defaults
// (9600 8N1, idle gap 50 ms, read timeout 100 ms, reconnect wait up to 1 s).
type SerialConfig struct {
	Port             string        // device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/…
	Baud             int           // 9600
	DataBits         int           // 5–8, default 8
	Parity           string        // "N" (none, default), "E" (even) or "O" (odd)
	StopBits         int           // 1 (default) or 2
	IdleGap          time.Duration // frames without terminator end after this silence (50 ms)
	ReadTimeout      time.Duration // per read, 100 ms – 25 s; bounds how long Close waits
	MaxReconnectWait time.Duration // longest wait between reopen attempts (1 s)
	MaxFrame         int           // longest accepted frame in bytes (4096)
}

var supportedBauds = map[int]bool{
	50: true, 75: true, 110: true, 134: true, 150: true, 200: true, 300: true, 600: true,
	1200: true, 1800: true, 2400: true, 4800: true, 9600: true, 19200: true, 38400: true,
	57600: true, 115200: true, 230400: true, 460800: true, 500000: true, 576000: true,
	921600: true, 1000000: true, 1152000: true, 1500000: true, 2000000: true, 2500000: true,
	3000000: true, 3500000: true, 4000000: true,
}

// withDefaults fills defaults and validates; the error says which setting is wrong.
func (c SerialConfig) withDefaults() (SerialConfig, error) {
	if c.Port == "" {
		return c, errors.New("serial: no port configured")
	}
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if !supportedBauds[c.Baud] {
		return c, fmt.Errorf("serial: unsupported baud rate %d (use e.g. 9600 or 115200)", c.Baud)
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.DataBits < 5 || c.DataBits > 8 {
		return c, fmt.Errorf("serial: data bits must be 5 to 8, got %d", c.DataBits)
	}
	switch strings.ToUpper(c.Parity) {
	case "", "N", "NONE":
		c.Parity = "N"
	case "E", "EVEN":
		c.Parity = "E"
	case "O", "ODD":
		c.Parity = "O"
	default:
		return c, fmt.Errorf("serial: parity must be N, E or O, got %q", c.Parity)
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	if c.StopBits != 1 && c.StopBits != 2 {
		return c, fmt.Errorf("serial: stop bits must be 1 or 2, got %d", c.StopBits)
	}
	if c.IdleGap <= 0 {
		c.IdleGap = DefaultIdleGap
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.ReadTimeout < MinReadTimeout || c.ReadTimeout > MaxReadTimeout {
		return c, fmt.Errorf("serial: read timeout must be between %v and %v, got %v", MinReadTimeout, MaxReadTimeout, c.ReadTimeout)
	}
	if c.MaxReconnectWait <= 0 {
		c.MaxReconnectWait = DefaultMaxReconnectWait
	}
	if c.MaxReconnectWait < minReconnectWait {
		c.MaxReconnectWait = minReconnectWait
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	return c, nil
}

func (c SerialConfig) tarm() *serial.Config {
	tc := &serial.Config{Name: c.Port, Baud: c.Baud, ReadTimeout: c.ReadTimeout, Size: byte(c.DataBits),
		Parity: serial.Parity(c.Parity[0]), StopBits: serial.Stop1}
	if c.StopBits == 2 {
		tc.StopBits = serial.Stop2
	}
	return tc
}

// EventType says what an Event carries.
type EventType string

// Event types.
const (
	EventScan   EventType = "scan"   // Scan is set (it may be invalid: wrong check digit…)
	EventDevice EventType = "device" // State is set; Err says why for waiting/error
	EventError  EventType = "error"  // a rejected frame: Err is set, Scan is the unknown scan
)

// Device states reported by EventDevice.
const (
	StateConnected = "connected" // port open, reading
	StateWaiting   = "waiting"   // port absent or unplugged; retrying with backoff
	StateError     = "error"     // port present but cannot be opened (permissions, not a tty…); retrying
)

// Event is what a SerialReader delivers.
type Event struct {
	Type  EventType `json:"type"`
	Scan  *Scan     `json:"scan,omitempty"`
	State string    `json:"state,omitempty"`
	Err   string    `json:"error,omitempty"`
	// Problem is Err as a code for the UI's language (device.absent {Port}, device.open
	// {Port, Err}, device.unplugged {Err}, or the rejected frame's problem).
	Problem *Problem  `json:"problem,omitempty"`
	At      time.Time `json:"at"`
}

// SerialReader reads a serial scanner, frames and classifies what it sends, and reconnects
// after unplug. Create it with OpenSerial; read Events until it is closed.
type SerialReader struct {
	cfg    SerialConfig
	cls    *Classifier
	log    *slog.Logger
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	opens atomic.Int64 // open attempts (tests: no busy reconnect loop)
	reads atomic.Int64 // Read calls (tests: no spinning on EOF)
}

// OpenSerial validates cfg and starts reading cfg.Port in the background. A missing port is
// not an error: the reader reports StateWaiting and keeps trying. The reader stops when ctx
// is cancelled or Close is called; then Events is closed.
func OpenSerial(ctx context.Context, cfg SerialConfig, cls *Classifier, logger *slog.Logger) (*SerialReader, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cls == nil {
		return nil, errors.New("serial: no classifier")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &SerialReader{cfg: cfg, cls: cls, log: logger.With("port", cfg.Port), events: make(chan Event, 64),
		cancel: cancel, done: make(chan struct{})}
	go r.run(ctx)
	return r, nil
}

// Events returns the event channel; it is closed when the reader stops. Read it promptly:
// while it is full (64 events) the reader stops reading and the OS buffers the port, so
// nothing is dropped.
func (r *SerialReader) Events() <-chan Event { return r.events }

// Close stops the reader and waits for its goroutines; it returns within about one
// ReadTimeout. It is safe to call more than once.
func (r *SerialReader) Close() error {
	r.once.Do(r.cancel)
	<-r.done
	return nil
}

// Done is closed when the reader has stopped.
func (r *SerialReader) Done() <-chan struct{} { return r.done }

func (r *SerialReader) emit(ctx context.Context, ev Event) {
	select {
	case r.events <- ev:
	case <-ctx.Done():
	}
}

func (r *SerialReader) run(ctx context.Context) {
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
		if err != nil {
			r.log.Warn("scanner state", "state", state, "err", msg)
		} else {
			r.log.Info("scanner state", "state", state)
		}
		p, _ := ProblemOf(err)
		r.emit(ctx, Event{Type: EventDevice, State: state, Err: msg, Problem: p, At: time.Now()})
	}
	for ctx.Err() == nil {
		r.opens.Add(1)
		port, err := serial.OpenPort(r.cfg.tarm())
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				setState(StateWaiting, problem("device.absent", kv("Port", r.cfg.Port), "port %s not present", r.cfg.Port))
			} else {
				setState(StateError, &Problem{Code: "device.open", Args: kv("Port", r.cfg.Port, "Err", err.Error()),
					msg: fmt.Sprintf("open %s: %v", r.cfg.Port, err), is: err})
			}
			if !sleepCtx(ctx, wait) {
				break
			}
			wait = min(wait*2, r.cfg.MaxReconnectWait)
			continue
		}
		setState(StateConnected, nil)
		started := time.Now()
		gotData, err := r.serve(ctx, port)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			err = &Problem{Code: "device.unplugged", Args: kv("Err", err.Error()), msg: err.Error(), is: err}
		}
		setState(StateWaiting, err)
		if gotData || time.Since(started) > 2*r.cfg.MaxReconnectWait {
			wait = minReconnectWait
		}
		if !sleepCtx(ctx, wait) {
			break
		}
		wait = min(wait*2, r.cfg.MaxReconnectWait)
	}
}

// sleepCtx waits d or until ctx is done; it reports whether the full wait elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type chunk struct {
	data []byte
	at   time.Time
	err  error
}

// errUnplugged marks a lost device.
var errUnplugged = errors.New("device unplugged")

// serve reads one open port until it fails or ctx ends. It closes the port.
func (r *SerialReader) serve(ctx context.Context, port *serial.Port) (gotData bool, err error) {
	chunks := make(chan chunk, 16)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.readLoop(port, chunks, stop)
	}()
	defer func() {
		close(stop)
		_ = port.Close() // waits for a Read in progress: at most ReadTimeout
		wg.Wait()
	}()

	framer := NewFramer(FramerConfig{IdleGap: r.cfg.IdleGap, MaxFrame: r.cfg.MaxFrame})
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	arm := func() {
		if d, ok := framer.Deadline(); ok {
			timer.Reset(max(time.Until(d), 0))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return gotData, ctx.Err()
		case c := <-chunks:
			if c.err != nil {
				if fr, ok := framer.FlushAll(c.at); ok {
					r.deliver(ctx, fr)
				}
				return gotData, c.err
			}
			gotData = true
			for _, fr := range framer.Feed(c.data, c.at) {
				r.deliver(ctx, fr)
			}
			timer.Stop()
			arm()
		case now := <-timer.C:
			if fr, ok := framer.Flush(now); ok {
				r.deliver(ctx, fr)
			}
			arm()
		}
	}
}

// deliver classifies a frame and emits it.
func (r *SerialReader) deliver(ctx context.Context, fr Frame) {
	s := r.cls.Classify(fr)
	if fr.Err != nil {
		r.log.Warn("rejected frame", "err", fr.Err, "bytes", fr.Len)
		r.emit(ctx, Event{Type: EventError, Scan: &s, Err: fr.Err.Error(), Problem: s.Problem, At: s.At})
		return
	}
	r.emit(ctx, Event{Type: EventScan, Scan: &s, At: s.At})
}

// readLoop reads until an error, an unplug, or stop. It detects unplug by EIO (any read
// error), by instantly returning EOFs (a timeout takes ReadTimeout), or by the device node
// disappearing.
func (r *SerialReader) readLoop(port io.Reader, out chan<- chunk, stop <-chan struct{}) {
	send := func(c chunk) bool {
		select {
		case out <- c:
			return true
		case <-stop:
			return false
		}
	}
	buf := make([]byte, 1024)
	instant := 0
	lastStat := time.Now()
	for {
		select {
		case <-stop:
			return
		default:
		}
		t0 := time.Now()
		n, err := port.Read(buf)
		r.reads.Add(1)
		now := time.Now()
		if n > 0 {
			instant = 0
			if !send(chunk{data: append([]byte(nil), buf[:n]...), at: now}) {
				return
			}
			continue
		}
		if err == nil || errors.Is(err, io.EOF) {
			if now.Sub(t0) < r.cfg.ReadTimeout/4 {
				instant++
				if instant >= instantEOFLimit {
					send(chunk{at: now, err: fmt.Errorf("%w: port returns end-of-file without waiting", errUnplugged)})
					return
				}
				continue
			}
			instant = 0
			if now.Sub(lastStat) >= statInterval {
				lastStat = now
				if _, serr := os.Stat(r.cfg.Port); serr != nil {
					send(chunk{at: now, err: fmt.Errorf("%w: %v", errUnplugged, serr)})
					return
				}
			}
			continue
		}
		select {
		case <-stop:
			return
		default:
		}
		send(chunk{at: now, err: fmt.Errorf("%w: read: %v", errUnplugged, err)})
		return
	}
}

package devices

import (
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Default framing parameters.
const (
	DefaultIdleGap  = 50 * time.Millisecond
	DefaultMaxFrame = 4096
)

// Frame is one code as sent by a scanner or card reader: the text without terminator and
// without AIM prefix. A rejected frame has Err set and no Text.
type Frame struct {
	Text     string    // decoded text (UTF-8), AIM prefix removed
	AIM      string    // AIM symbology identifier such as "]E0", empty when the scanner sent none
	Encoding string    // "utf-8" or "gb18030"
	Len      int       // number of bytes received (without terminator)
	At       time.Time // when the frame ended
	Err      error     // why the frame was rejected (oversize, control bytes, undecodable)
}

// Errors for rejected frames, wrapped with details.
const (
	ErrFrameTooLong   = sentinel("frame too long")
	ErrControlBytes   = sentinel("frame contains control bytes")
	ErrBadEncoding    = sentinel("frame is neither UTF-8 nor GB18030")
	ErrNothingToFrame = sentinel("empty frame")
)

// FramerConfig configures a Framer. Zero values take the defaults.
type FramerConfig struct {
	IdleGap  time.Duration // a frame without terminator ends after this much silence (50 ms)
	MaxFrame int           // longer frames are rejected (4096 bytes)
}

// Framer splits a byte stream into frames. Frames end at CR, LF or CRLF, or after an idle gap
// with no terminator. It is not safe for concurrent use; time is passed in, so it is fully
// deterministic.
type Framer struct {
	cfg     FramerConfig
	buf     []byte
	n       int // bytes in the current frame, including discarded ones when oversize
	last    time.Time
	pending bool
}

// NewFramer returns a Framer with cfg (defaults for zero fields).
func NewFramer(cfg FramerConfig) *Framer {
	if cfg.IdleGap <= 0 {
		cfg.IdleGap = DefaultIdleGap
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	return &Framer{cfg: cfg, buf: make([]byte, 0, 256)}
}

// Feed adds bytes received at time at and returns the frames completed by them. If the
// previous partial frame has been idle for at least the idle gap, it is completed first.
func (f *Framer) Feed(data []byte, at time.Time) []Frame {
	var out []Frame
	if f.pending && at.Sub(f.last) >= f.cfg.IdleGap {
		out = append(out, f.finish(f.last.Add(f.cfg.IdleGap)))
	}
	for _, c := range data {
		if c == '\r' || c == '\n' {
			if f.pending {
				out = append(out, f.finish(at))
			}
			continue
		}
		f.pending = true
		f.n++
		if f.n <= f.cfg.MaxFrame {
			f.buf = append(f.buf, c)
		}
	}
	if f.pending {
		f.last = at
	}
	return out
}

// Deadline returns when the partial frame will be completed by the idle gap, and whether
// there is a partial frame at all.
func (f *Framer) Deadline() (time.Time, bool) {
	if !f.pending {
		return time.Time{}, false
	}
	return f.last.Add(f.cfg.IdleGap), true
}

// Flush completes the partial frame if it has been idle for the idle gap at now.
func (f *Framer) Flush(now time.Time) (Frame, bool) {
	if !f.pending || now.Sub(f.last) < f.cfg.IdleGap {
		return Frame{}, false
	}
	return f.finish(f.last.Add(f.cfg.IdleGap)), true
}

// FlushAll completes the partial frame regardless of the idle gap (used when the device goes
// away).
func (f *Framer) FlushAll(now time.Time) (Frame, bool) {
	if !f.pending {
		return Frame{}, false
	}
	return f.finish(now), true
}

func (f *Framer) finish(at time.Time) Frame {
	var fr Frame
	if f.n > f.cfg.MaxFrame {
		fr = Frame{Len: f.n, At: at, Err: tooLong(f.n, f.cfg.MaxFrame)}
	} else {
		fr = MakeFrame(f.buf, at)
	}
	f.buf = f.buf[:0]
	f.n = 0
	f.pending = false
	return fr
}

// MakeFrame builds a Frame from the bytes of one code (no terminator): it rejects control
// bytes other than GS, strips and keeps an AIM prefix, and decodes UTF-8 or, failing that,
// GB18030. The Wedge uses it too.
func MakeFrame(b []byte, at time.Time) Frame {
	fr := Frame{Len: len(b), At: at}
	if len(b) == 0 {
		fr.Err = &Problem{Code: "frame.empty", msg: ErrNothingToFrame.Error(), is: ErrNothingToFrame}
		return fr
	}
	for i, c := range b {
		if (c < 0x20 && c != GS) || c == 0x7F {
			p := problem("frame.control", kv("Byte", fmt.Sprintf("0x%02X", c), "Pos", i+1),
				"%s: byte 0x%02X at position %d (only GS is allowed)", ErrControlBytes, c, i+1)
			p.is = ErrControlBytes
			fr.Err = p
			return fr
		}
	}
	if len(b) >= 3 && b[0] == ']' && isAlpha(b[1]) && isAlnum(b[2]) {
		fr.AIM = string(b[:3])
		b = b[3:]
	}
	if utf8.Valid(b) {
		fr.Text, fr.Encoding = string(b), "utf-8"
		return fr
	}
	dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil || !utf8.Valid(dec) || containsRune(dec, utf8.RuneError) {
		p := problem("frame.encoding", kv("Len", len(b)), "%s (%d bytes)", ErrBadEncoding, len(b))
		p.is = ErrBadEncoding
		fr.Err = p
		return fr
	}
	fr.Text, fr.Encoding = string(dec), "gb18030"
	return fr
}

// tooLong is the problem of an oversize frame of n bytes.
func tooLong(n, limit int) error {
	p := problem("frame.too_long", kv("Len", n, "Limit", limit), "%s: %d bytes (limit %d)", ErrFrameTooLong, n, limit)
	p.is = ErrFrameTooLong
	return p
}

func containsRune(b []byte, r rune) bool {
	for len(b) > 0 {
		c, n := utf8.DecodeRune(b)
		if c == r {
			return true
		}
		b = b[n:]
	}
	return false
}

func isAlpha(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }
func isAlnum(c byte) bool { return isAlpha(c) || (c >= '0' && c <= '9') }

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }

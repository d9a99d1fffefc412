package posexport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding names (Options.Encoding and what Reader.Encoding reports).
const (
	EncAuto    = ""
	EncUTF8    = "UTF-8"
	EncGB18030 = "GB18030"
	EncUTF16LE = "UTF-16LE"
	EncUTF16BE = "UTF-16BE"
)

// lookahead is how much text the detection looks at from the first non-ASCII byte on:
// GBK/GB18030 text of that length is all but never valid UTF-8.
const lookahead = 64 << 10

// ParseEncoding reads an --encoding value: auto (or empty), utf-8, gb18030 (also gbk,
// gb2312, cp936: GB18030 is their superset), utf-16 (byte-order mark, else little
// endian), utf-16le, utf-16be.
func ParseEncoding(s string) (string, error) {
	switch strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(s)) {
	case "", "auto":
		return EncAuto, nil
	case "utf8":
		return EncUTF8, nil
	case "gb18030", "gbk", "gb2312", "cp936", "936":
		return EncGB18030, nil
	case "utf16", "utf16le", "unicode":
		return EncUTF16LE, nil
	case "utf16be":
		return EncUTF16BE, nil
	}
	return "", fmt.Errorf("unknown encoding %q: want auto, utf-8, gb18030 (gbk), utf-16le or utf-16be", s)
}

// decoded is the UTF-8 text of an export, with what encoding it turned out to be.
type decoded struct {
	r      io.Reader
	name   atomic.Value // string: the encoding in use (auto: may change from UTF-8 to GB18030 once)
	forced bool
}

func (d *decoded) encoding() string {
	s, _ := d.name.Load().(string)
	return s
}

// decode returns the UTF-8 text of raw. A byte-order mark decides (UTF-8, UTF-16LE/BE)
// unless forced names another encoding; without one, auto detection reads UTF-16 from
// NUL bytes in the first characters, and otherwise passes ASCII through until the first
// non-ASCII byte, where it looks ahead: text that is valid UTF-8 is UTF-8, anything
// else is GB18030. Bytes invalid in the encoding become U+FFFD (the rows holding them
// are rejected), so nothing undecodable is passed on silently.
func decode(raw io.Reader, forced string) (*decoded, error) {
	br := bufio.NewReaderSize(raw, lookahead+utf8.UTFMax)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read: %w", err)
	}
	d := &decoded{forced: forced != EncAuto}
	use := func(name string, enc encoding.Encoding, bom int) *decoded {
		_, _ = br.Discard(bom)
		d.name.Store(name)
		d.r = transform.NewReader(br, enc.NewDecoder())
		return d
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) && (forced == EncAuto || forced == EncUTF8):
		return use(EncUTF8, unicode.UTF8, 3), nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) && (forced == EncAuto || forced == EncUTF16LE):
		return use(EncUTF16LE, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 2), nil
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}) && (forced == EncAuto || forced == EncUTF16LE || forced == EncUTF16BE):
		return use(EncUTF16BE, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 2), nil
	}
	switch forced {
	case EncUTF8:
		return use(EncUTF8, unicode.UTF8, 0), nil
	case EncGB18030:
		return use(EncGB18030, simplifiedchinese.GB18030, 0), nil
	case EncUTF16LE:
		return use(EncUTF16LE, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 0), nil
	case EncUTF16BE:
		return use(EncUTF16BE, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 0), nil
	case EncAuto:
	default:
		return nil, fmt.Errorf("unknown encoding %q", forced)
	}
	// UTF-16 without a byte-order mark: text never holds NUL bytes, UTF-16 has one in
	// every ASCII character (separators, digits), nearly all on even (BE) or odd (LE)
	// offsets (a CJK character such as 销 U+9500 has one too).
	if start, _ := br.Peek(1024); len(start) >= 16 {
		var even, odd int
		for i, c := range start {
			if c == 0 {
				if i%2 == 0 {
					even++
				} else {
					odd++
				}
			}
		}
		switch {
		case odd >= 4 && odd >= 4*even:
			return use(EncUTF16LE, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 0), nil
		case even >= 4 && even >= 4*odd:
			return use(EncUTF16BE, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 0), nil
		}
	}
	d.name.Store(EncUTF8)
	d.r = &autoReader{br: br, d: d}
	return d, nil
}

// autoReader passes ASCII through and decides the encoding at the first non-ASCII byte.
type autoReader struct {
	br  *bufio.Reader
	d   *decoded
	out io.Reader // once decided
}

func (a *autoReader) Read(p []byte) (int, error) {
	if a.out != nil {
		return a.out.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	buf, err := a.br.Peek(1)
	if len(buf) == 0 {
		return 0, err
	}
	buf, _ = a.br.Peek(a.br.Buffered())
	n := 0
	for n < len(buf) && n < len(p) && buf[n] < utf8.RuneSelf {
		n++
	}
	if n > 0 {
		copy(p, buf[:n])
		_, _ = a.br.Discard(n)
		return n, nil
	}
	// The first non-ASCII byte: look ahead.
	window, err := a.br.Peek(lookahead)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, err
	}
	atEOF := errors.Is(err, io.EOF)
	if mostlyUTF8(window, atEOF) {
		a.out = transform.NewReader(a.br, unicode.UTF8.NewDecoder())
	} else {
		a.d.name.Store(EncGB18030)
		a.out = transform.NewReader(a.br, simplifiedchinese.GB18030.NewDecoder())
	}
	return a.out.Read(p)
}

// mostlyUTF8 reports whether the non-ASCII text in b reads as UTF-8: of its runs of
// non-ASCII bytes, at least two thirds are valid UTF-8 (a rune cut at the end of the
// window, when more text follows, counts as valid). GBK text is made of two-byte
// characters that only now and then happen to form UTF-8, so its runs are nearly all
// invalid; a UTF-8 file with a damaged line stays UTF-8 (the line is rejected).
func mostlyUTF8(b []byte, atEOF bool) bool {
	valid, invalid := 0, 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= utf8.RuneSelf {
			j++
		}
		run := b[i:j]
		if j == len(b) && !atEOF {
			// The window may cut the run's last rune.
			for k := len(run) - 1; k >= 0 && k >= len(run)-utf8.UTFMax; k-- {
				if utf8.RuneStart(run[k]) {
					if !utf8.FullRune(run[k:]) {
						run = run[:k]
					}
					break
				}
			}
		}
		if utf8.Valid(run) {
			valid++
		} else {
			invalid++
		}
		i = j
	}
	return valid >= 2*invalid
}

// countingReader counts the bytes read from the file (progress).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

package devices

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func gbEncoder() *encoding.Encoder { return simplifiedchinese.GB18030.NewEncoder() }

func texts(frs []Frame) []string {
	var out []string
	for _, f := range frs {
		if f.Err != nil {
			out = append(out, "ERR:"+f.Err.Error())
			continue
		}
		out = append(out, f.AIM+"|"+f.Text)
	}
	return out
}

func TestFramerTerminators(t *testing.T) {
	t0 := testToday
	for _, tc := range []struct {
		name string
		in   []string // chunks, 1 ms apart
		want []string
	}{
		{"CR", []string{"6901234567892\r"}, []string{"|6901234567892"}},
		{"LF", []string{"6901234567892\n"}, []string{"|6901234567892"}},
		{"CRLF", []string{"6901234567892\r\n"}, []string{"|6901234567892"}},
		{"CRLF split", []string{"6901234567892\r", "\n", "96385074\r", "\n"}, []string{"|6901234567892", "|96385074"}},
		{"partial writes", []string{"690", "1234", "5678", "92\r\n"}, []string{"|6901234567892"}},
		{"several in one chunk", []string{"a1\rb2\nc3\r\nd4\r"}, []string{"|a1", "|b2", "|c3", "|d4"}},
		{"blank lines ignored", []string{"\r\n\r\n\nx\r\n\r\n"}, []string{"|x"}},
		{"AIM kept", []string{"]E06901234567892\r"}, []string{"]E0|6901234567892"}},
		{"GS kept", []string{"]d201069012345678921726\x1d10A\r"}, []string{"]d2|01069012345678921726\x1d10A"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFramer(FramerConfig{})
			var got []Frame
			for i, c := range tc.in {
				got = append(got, f.Feed([]byte(c), t0.Add(time.Duration(i)*time.Millisecond))...)
			}
			if _, pending := f.Deadline(); pending {
				t.Error("partial frame left after terminator")
			}
			if g := texts(got); strings.Join(g, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %q want %q", g, tc.want)
			}
		})
	}
}

func TestFramerIdleGap(t *testing.T) {
	t0 := testToday
	f := NewFramer(FramerConfig{IdleGap: 50 * time.Millisecond})
	if got := f.Feed([]byte("6901234"), t0); len(got) != 0 {
		t.Fatalf("early frame %v", texts(got))
	}
	f.Feed([]byte("567892"), t0.Add(30*time.Millisecond)) // within the gap: same frame
	d, ok := f.Deadline()
	if !ok || !d.Equal(t0.Add(80*time.Millisecond)) {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if _, ok := f.Flush(t0.Add(79 * time.Millisecond)); ok {
		t.Fatal("flushed before the idle gap")
	}
	fr, ok := f.Flush(t0.Add(80 * time.Millisecond))
	if !ok || fr.Text != "6901234567892" || !fr.At.Equal(t0.Add(80*time.Millisecond)) {
		t.Fatalf("flush = %+v %v", fr, ok)
	}
	// A new chunk after the gap completes the old frame first.
	f.Feed([]byte("96385074"), t0.Add(time.Second))
	got := f.Feed([]byte("STAFF-1\r"), t0.Add(time.Second+60*time.Millisecond))
	if g := texts(got); len(g) != 2 || g[0] != "|96385074" || g[1] != "|STAFF-1" {
		t.Errorf("got %q", g)
	}
}

func TestFramerRejects(t *testing.T) {
	t0 := testToday
	f := NewFramer(FramerConfig{})
	big := strings.Repeat("9", DefaultMaxFrame+1)
	got := f.Feed([]byte(big+"\r6901234567892\r"), t0)
	if len(got) != 2 || !errors.Is(got[0].Err, ErrFrameTooLong) || got[0].Len != DefaultMaxFrame+1 || got[1].Text != "6901234567892" {
		t.Fatalf("oversize: %q", texts(got))
	}
	if !strings.Contains(got[0].Err.Error(), "4097 bytes (limit 4096)") {
		t.Errorf("oversize message %q", got[0].Err)
	}
	exact := strings.Repeat("8", DefaultMaxFrame)
	if got := f.Feed([]byte(exact+"\n"), t0); len(got) != 1 || got[0].Err != nil || len(got[0].Text) != DefaultMaxFrame {
		t.Errorf("4096 bytes must pass: %v", got[0].Err)
	}
	for _, bad := range []string{"ab\x00cd", "\x1b[2J", "tab\there", "del\x7f", "\x04"} {
		got := f.Feed([]byte(bad+"\r"+"96385074\r"), t0)
		if len(got) != 2 || !errors.Is(got[0].Err, ErrControlBytes) || got[1].Text != "96385074" {
			t.Errorf("%q: %q", bad, texts(got))
		}
	}
	// GB18030 fallback, and bytes that are neither encoding.
	got = f.Feed(append(gb18030("张三 药师"), '\r'), t0)
	if len(got) != 1 || got[0].Text != "张三 药师" || got[0].Encoding != "gb18030" {
		t.Errorf("gb18030: %+v", got)
	}
	got = f.Feed([]byte("ok\xff\xfe\r"), t0)
	if len(got) != 1 || !errors.Is(got[0].Err, ErrBadEncoding) {
		t.Errorf("garbage: %+v", got)
	}
	got = f.Feed([]byte("健康\r"), t0)
	if len(got) != 1 || got[0].Text != "健康" || got[0].Encoding != "utf-8" {
		t.Errorf("utf-8: %+v", got)
	}
}

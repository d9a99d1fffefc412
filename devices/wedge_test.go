package devices

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// traceEvent is one line of a keyprobe trace (devices/testdata/wedge, recorded in a real
// GLFW window under Xvfb with xdotool; see kiosk/internal/keyprobe).
type traceEvent struct {
	at   time.Time
	kind string // "key", "rune", "frame"
	name string
	r    rune
}

func readTrace(t *testing.T, path string) []traceEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []traceEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		ms, err := strconv.ParseFloat(fs[0], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		ev := traceEvent{at: testToday.Add(time.Duration(ms * float64(time.Millisecond))), kind: fs[1]}
		switch ev.kind {
		case "key":
			ev.name = fs[2]
		case "rune":
			q := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line[len(fs[0])+6:]), "entry"))
			s, err := strconv.Unquote(q)
			if err != nil || len([]rune(s)) != 1 {
				t.Fatalf("%s: rune in %q: %v", path, line, err)
			}
			ev.r = []rune(s)[0]
		}
		out = append(out, ev)
	}
	return out
}

// released is one output of a replay with the time it was released.
type released struct {
	WedgeOutput
	at time.Time
}

// replay feeds a trace to w the way the kiosk's window adapter does: every TypedKey and
// TypedRune as it arrives, Polled at every frame.
func replay(w *Wedge, evs []traceEvent) []released {
	var out []released
	add := func(os []WedgeOutput, at time.Time) {
		for _, o := range os {
			out = append(out, released{o, at})
		}
	}
	for _, ev := range evs {
		switch ev.kind {
		case "key":
			add(w.Key(ev.name, nil, ev.at), ev.at)
		case "rune":
			add(w.Rune(ev.r, nil, ev.at), ev.at)
		case "frame":
			add(w.Polled(ev.at), ev.at)
		}
	}
	return out
}

func describe(rs []released) string {
	var b strings.Builder
	for _, r := range rs {
		switch {
		case r.Scan != nil:
			fmt.Fprintf(&b, "[scan %q]", r.Scan.Text)
		case r.Key.Name != "":
			fmt.Fprintf(&b, "[%s]", r.Key.Name)
		default:
			fmt.Fprintf(&b, "%c", r.Key.Rune)
		}
	}
	return b.String()
}

// Scans typed in a real window (batched per frame, TypedKey missing for repeated keys,
// slow frames under load, a focused entry) are exactly one scan each, no key leaks.
func TestWedgeRecordedScans(t *testing.T) {
	for file, want := range map[string]string{
		"id-delay0.trace":                "11010519491231002X",
		"id-delay1.trace":                "11010519491231002X",
		"id-delay5.trace":                "11010519491231002X",
		"id-delay1-entry.trace":          "11010519491231002X",
		"id-delay2-loaded-repaint.trace": "11010519491231002X",
		"badge-delay1.trace":             "STAFF-0002",
	} {
		t.Run(file, func(t *testing.T) {
			got := replay(NewWedge(WedgeConfig{}), readTrace(t, filepath.Join("testdata", "wedge", file)))
			if len(got) != 1 || got[0].Scan == nil || got[0].Scan.Text != want {
				t.Fatalf("want one scan %q, got %s", want, describe(got))
			}
		})
	}
}

// The old rule — a 30 ms gap between arrival times — fails on the same recordings: this
// is the evidence that arrival times of batched events cannot be compared with 30 ms.
func TestWedgeArrivalGapsExceedRule(t *testing.T) {
	evs := readTrace(t, filepath.Join("testdata", "wedge", "id-delay5.trace"))
	var last time.Time
	worst := time.Duration(0)
	for _, ev := range evs {
		if ev.kind != "rune" {
			continue
		}
		if !last.IsZero() && ev.at.Sub(last) > worst {
			worst = ev.at.Sub(last)
		}
		last = ev.at
	}
	if worst <= DefaultWedgeMaxGap {
		t.Fatalf("largest arrival gap in a 5 ms/key scan is %v; the recording no longer shows frame batching", worst)
	}
	t.Logf("largest arrival gap between two keys of one scan: %v (rule: %v)", worst, DefaultWedgeMaxGap)
}

// A person's keys in a real window come out one by one, in order, each before the next
// key arrives and within 150 ms of its own arrival; Enter is a key.
func TestWedgeRecordedPerson(t *testing.T) {
	for file, want := range map[string]string{
		"person-150.trace": "11234[Return]",
		"person-80.trace":  "41234[Return]",
	} {
		t.Run(file, func(t *testing.T) {
			evs := readTrace(t, filepath.Join("testdata", "wedge", file))
			got := replay(NewWedge(WedgeConfig{}), evs)
			if d := describe(got); d != want {
				t.Fatalf("want %s, got %s", want, d)
			}
			var arrivals []time.Time
			for _, ev := range evs {
				if ev.kind == "rune" {
					arrivals = append(arrivals, ev.at)
				}
			}
			worst := time.Duration(0)
			for i, r := range got {
				if r.Scan != nil || r.Key.Name != "" {
					continue
				}
				lat := r.at.Sub(r.Key.At)
				if lat > 150*time.Millisecond {
					t.Errorf("key %d released %v after it arrived", i, lat)
				}
				if i+1 < len(arrivals) && !r.at.Before(arrivals[i+1]) {
					t.Errorf("key %d released at %v, not before the next key arrived (%v)", i, r.at, arrivals[i+1])
				}
				worst = max(worst, lat)
			}
			t.Logf("longest hold of a person's key: %v", worst)
		})
	}
}

// batched simulates a window event loop: keys typed at the given times are delivered at
// the end of the frame they fall in, frames lasting the given durations.
func batched(w *Wedge, typed []time.Time, keys []WedgeKey, frames []time.Duration, start time.Time) []released {
	var out []released
	add := func(os []WedgeOutput, at time.Time) {
		for _, o := range os {
			out = append(out, released{o, at})
		}
	}
	now, k := start, 0
	for _, d := range frames {
		now = now.Add(d)
		for k < len(typed) && typed[k].Before(now) {
			at := now.Add(time.Duration(k%3) * time.Microsecond) // arrival: during the poll
			if keys[k].Name != "" {
				add(w.Key(keys[k].Name, nil, at), at)
			} else {
				add(w.Rune(keys[k].Rune, nil, at), at)
			}
			k++
		}
		now = now.Add(10 * time.Microsecond)
		add(w.Polled(now), now)
	}
	return out
}

func typing(s string, start time.Time, gap func(i int) time.Duration) ([]time.Time, []WedgeKey) {
	var ts []time.Time
	var ks []WedgeKey
	at := start
	for i, r := range s {
		if i > 0 {
			at = at.Add(gap(i))
		}
		ts = append(ts, at)
		ks = append(ks, WedgeKey{Rune: r})
	}
	return append(ts, at.Add(gap(len(ts)))), append(ks, WedgeKey{Name: "Return"})
}

// Whatever the frame lengths (16 ms normally, up to 250 ms stalls under load), a scanner
// at 0–10 ms per key is one scan; a person at 80–200 ms per key with a normal frame rate
// gets every key, in order, within 150 ms.
func TestWedgeBatchingProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []string{"11010519491231002X", "STAFF-0002", "6901234567892", "YBDEMO0000000000000002"}
	for i := 0; i < 2000; i++ {
		code := codes[i%len(codes)]
		start := testToday.Add(time.Duration(rng.IntN(20000)) * time.Microsecond)
		ts, ks := typing(code, start, func(int) time.Duration { return time.Duration(rng.IntN(10001)) * time.Microsecond })
		var frames []time.Duration
		for range 100 {
			d := 16*time.Millisecond + time.Duration(rng.IntN(2000))*time.Microsecond
			if rng.IntN(5) == 0 {
				d = time.Duration(20+rng.IntN(230)) * time.Millisecond // a stalled frame
			}
			frames = append(frames, d)
		}
		got := batched(NewWedge(WedgeConfig{}), ts, ks, frames, testToday)
		if len(got) != 1 || got[0].Scan == nil || got[0].Scan.Text != code {
			t.Fatalf("scan %d (%q) split or lost: %s", i, code, describe(got))
		}
	}
	for i := 0; i < 2000; i++ {
		s := []string{"1", "4", "1234", "11010519491231002X", "2"}[i%5]
		ts, ks := typing(s, testToday, func(int) time.Duration { return time.Duration(80+rng.IntN(121)) * time.Millisecond })
		var frames []time.Duration
		for range 400 {
			frames = append(frames, 16*time.Millisecond+time.Duration(rng.IntN(2000))*time.Microsecond)
		}
		got := batched(NewWedge(WedgeConfig{}), ts, ks, frames, testToday)
		if d := describe(got); d != s+"[Return]" {
			t.Fatalf("person typing %q at ≥ 80 ms per key got %s", s, d)
		}
		for j, r := range got {
			if r.Scan == nil && r.Key.Name == "" && r.at.Sub(ts[j]) > 150*time.Millisecond {
				t.Fatalf("person's key %d of %q delivered %v after it was typed", j, s, r.at.Sub(ts[j]))
			}
		}
	}
}

// Exact-time sources (Delivered before each key) and the older cases: a person's keys
// before a scan, a pause inside a burst, short bursts, Enter too late, NoSuffix, a
// configured gap, named keys and ignored printable key names.
func TestWedgeExactTimes(t *testing.T) {
	type key struct {
		r    rune
		name string
		ms   int
	}
	run := func(w *Wedge, ks []key) string {
		var out []released
		for _, k := range ks {
			at := testToday.Add(time.Duration(k.ms) * time.Millisecond)
			for _, o := range w.Delivered(at) {
				out = append(out, released{o, at})
			}
			var os []WedgeOutput
			if k.name != "" {
				os = w.Key(k.name, nil, at)
			} else {
				os = w.Rune(k.r, nil, at)
			}
			for _, o := range os {
				out = append(out, released{o, at})
			}
		}
		end := testToday.Add(time.Duration(ks[len(ks)-1].ms)*time.Millisecond + time.Second)
		for _, o := range w.Delivered(end) {
			out = append(out, released{o, end})
		}
		return describe(out)
	}
	typeKeys := func(s string, start, step int) []key {
		var ks []key
		for i, r := range s {
			ks = append(ks, key{r: r, ms: start + i*step})
		}
		return append(ks, key{name: "Return", ms: start + len([]rune(s))*step})
	}
	if got := run(NewWedge(WedgeConfig{}), typeKeys("6901234567892", 0, 8)); got != `[scan "6901234567892"]` {
		t.Errorf("fast scan: %s", got)
	}
	if got := run(NewWedge(WedgeConfig{}), typeKeys("6901234567892", 1000, 120)); got != "6901234567892[Return]" {
		t.Errorf("person typing: %s", got)
	}
	ks := append([]key{{r: 'a', ms: 2000}, {r: 'b', ms: 2150}}, typeKeys("STAFF-0042", 2400, 5)...)
	if got := run(NewWedge(WedgeConfig{}), ks); got != `ab[scan "STAFF-0042"]` {
		t.Errorf("person then scan: %s", got)
	}
	ks = typeKeys("690123", 3000, 5)
	ks = append(ks[:len(ks)-1], key{r: '4', ms: 3100}, key{r: '5', ms: 3105}, key{name: "Return", ms: 3110})
	if got := run(NewWedge(WedgeConfig{}), ks); got != "69012345[Return]" {
		t.Errorf("burst with pause: %s", got)
	}
	if got := run(NewWedge(WedgeConfig{}), typeKeys("12345", 4000, 5)); got != "12345[Return]" {
		t.Errorf("short: %s", got)
	}
	late := typeKeys("6901234567892", 5000, 5)
	late[len(late)-1].ms += 200
	if got := run(NewWedge(WedgeConfig{}), late); got != "6901234567892[Return]" {
		t.Errorf("late enter: %s", got)
	}
	// Printable key names and modifiers are ignored; BackSpace releases the burst first.
	ks = []key{{name: "LeftShift", ms: 6000}, {name: "S", ms: 6000}, {r: 'S', ms: 6000}, {name: "1", ms: 6001},
		{r: '1', ms: 6001}, {name: "BackSpace", ms: 6002}, {name: "F2", ms: 7000}, {name: "Space", ms: 7001}}
	if got := run(NewWedge(WedgeConfig{}), ks); got != "S1[BackSpace][F2]" {
		t.Errorf("named keys: %s", got)
	}
	slow := NewWedge(WedgeConfig{MaxGap: 50 * time.Millisecond, MinLen: 4})
	if got := run(slow, typeKeys("96385074", 8000, 40)); got != `[scan "96385074"]` {
		t.Errorf("configured gap: %s", got)
	}
	ns := NewWedge(WedgeConfig{NoSuffix: true})
	ks = typeKeys("96385074", 9000, 5)
	ks = append(ks[:len(ks)-1], typeKeys("STAFF-9", 9500, 5)...)
	if got := run(ns, ks[:len(ks)-1]); got != `[scan "96385074"][scan "STAFF-9"]` {
		t.Errorf("no suffix: %s", got)
	}
	if got := run(ns, []key{{r: '1', ms: 10000}}); got != "1" {
		t.Errorf("no suffix, one key: %s", got)
	}
	// Wedge frames classify like serial ones.
	w2 := NewWedge(WedgeConfig{})
	var f *Frame
	for i, r := range "11010519491231002x" {
		w2.Delivered(testToday.Add(time.Duration(i) * time.Millisecond))
		w2.Rune(r, nil, testToday.Add(time.Duration(i)*time.Millisecond))
	}
	if out := w2.Key("Return", nil, testToday.Add(18*time.Millisecond)); len(out) == 1 {
		f = out[0].Scan
	}
	if f == nil {
		t.Fatal("id scan not detected")
	}
	if s := testClassifier().Classify(*f); s.Kind != KindIDNumber || !s.Valid || s.Masked != "1101**********002X" {
		t.Errorf("wedge id: %v", s)
	}
}

// Src travels with each key; a scan's keys are consumed.
func TestWedgeSrc(t *testing.T) {
	w := NewWedge(WedgeConfig{})
	w.Rune('7', "field", testToday)
	out := w.Key("Tab", "screen", testToday.Add(time.Millisecond))
	if len(out) != 2 || out[0].Key.Src != "field" || out[0].Key.Rune != '7' || out[1].Key.Src != "screen" || out[1].Key.Name != "Tab" {
		t.Fatalf("%+v", out)
	}
	if w.Pending() {
		t.Fatal("still pending")
	}
}

// Command keyprobe records how key events reach a Fyne app in a real (GLFW) window. It
// writes a trace: every canvas (or focused entry) TypedKey and TypedRune, and every
// event-loop frame — an animation tick, which the GLFW driver runs right after polling
// the window's events — with the milliseconds since start. Run it under Xvfb and type
// with xdotool to see what the kiosk's key filter sees (docs/devices.md, "What the real
// window delivers"); the traces in devices/testdata/wedge were recorded with it:
//
//	xvfb-run -a go run ./kiosk/internal/keyprobe -for 4s -o scan.trace &
//	xdotool search --sync --name '^keyprobe$' windowfocus --sync
//	xdotool type --delay 1 11010519491231002X; xdotool key Return
//
// -entry focuses a text entry (key events then bypass the canvas handlers); -repaint
// refreshes a large text on every rune (a screen update during a scan).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

type line struct {
	at   time.Duration
	text string
}

type probeEntry struct {
	widget.Entry
	rec func(string)
}

func (e *probeEntry) TypedRune(r rune) { e.rec(fmt.Sprintf("rune %q entry", r)); e.Entry.TypedRune(r) }
func (e *probeEntry) TypedKey(k *fyne.KeyEvent) {
	e.rec(fmt.Sprintf("key %s entry", k.Name))
	e.Entry.TypedKey(k)
}

func main() {
	dur := flag.Duration("for", 10*time.Second, "quit after this long")
	out := flag.String("o", "", "write the trace to this file (default stdout)")
	withEntry := flag.Bool("entry", false, "focus a text entry")
	repaint := flag.Bool("repaint", false, "refresh a large text on every rune")
	flag.Parse()
	t0 := time.Now()
	var lines []line
	rec := func(s string) { lines = append(lines, line{time.Since(t0), s}) }
	a := app.NewWithID("com.pharmachain.keyprobe")
	w := a.NewWindow("keyprobe")
	big := canvas.NewText("", nil)
	big.TextSize = 64
	w.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) { rec("key " + string(k.Name)) })
	w.Canvas().SetOnTypedRune(func(r rune) {
		rec(fmt.Sprintf("rune %q", r))
		if *repaint {
			big.Text += string(r)
			big.Refresh()
		}
	})
	var objs []fyne.CanvasObject
	var e *probeEntry
	if *withEntry {
		e = &probeEntry{rec: rec}
		e.ExtendBaseWidget(e)
		objs = append(objs, e)
	}
	objs = append(objs, big)
	w.SetContent(container.NewVBox(objs...))
	w.Resize(fyne.NewSize(800, 600))
	// An endless animation ticks once per event-loop iteration, right after the driver
	// polled the window events: each tick marks the end of one batch of key events.
	anim := &fyne.Animation{Duration: time.Second, RepeatCount: fyne.AnimationRepeatForever,
		Tick: func(float32) { rec("frame") }}
	anim.Start()
	w.Show()
	if e != nil {
		w.Canvas().Focus(e)
	}
	time.AfterFunc(*dur, func() { fyne.Do(a.Quit) })
	a.Run()
	// Keep the frames from 100 ms before the first key to 300 ms after the last one.
	first, last := time.Duration(-1), time.Duration(0)
	for _, l := range lines {
		if l.text != "frame" {
			if first < 0 {
				first = l.at
			}
			last = l.at
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# keyprobe %s (ms since start; frame = one GLFW poll + animation tick)\n", strings.Join(os.Args[1:], " "))
	for _, l := range lines {
		if first >= 0 && (l.at < first-100*time.Millisecond || l.at > last+300*time.Millisecond) {
			continue
		}
		fmt.Fprintf(&b, "%.3f %s\n", float64(l.at.Microseconds())/1000, l.text)
	}
	if *out == "" {
		os.Stdout.WriteString(b.String())
		return
	}
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

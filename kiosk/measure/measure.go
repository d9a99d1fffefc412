// Package measure reports a Fyne app's startup cost for `make measure`: the wall-clock
// time of its first rendered frame and its resident memory once started. The kiosk
// (hidden flag --measure FILE) and the hello-world baseline (kiosk/internal/hello) call
// Report; kiosk/internal/measurerun compares them in one run under Xvfb.
package measure

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
)

// Result is what Report writes (JSON).
type Result struct {
	FirstFrameUnixNano int64 `json:"first_frame_unix_nano"` // wall clock of the first non-blank frame
	RSSKiB             int64 `json:"rss_kib"`               // VmRSS after the settle time
	HWMKiB             int64 `json:"hwm_kib"`               // VmHWM (peak RSS) at that time
}

// Report waits for the window's first non-blank frame, records the time, waits settle,
// reads the resident memory, writes the Result to file and quits the app. Run it in its
// own goroutine after the window is shown.
func Report(a fyne.App, w fyne.Window, file string, settle time.Duration, log *slog.Logger) {
	var r Result
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var img image.Image
		fyne.DoAndWait(func() { img = w.Canvas().Capture() })
		if nonBlank(img) {
			r.FirstFrameUnixNano = time.Now().UnixNano()
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(settle)
	var err error
	if r.RSSKiB, r.HWMKiB, err = rss(); err != nil {
		log.Error("measure", "err", err)
	}
	b, _ := json.Marshal(r) // plain struct: cannot fail
	if err := os.WriteFile(file, b, 0o644); err != nil {
		log.Error("measure", "err", err)
	}
	fyne.Do(a.Quit)
}

// nonBlank reports whether the image has at least two different colours (something
// was drawn, not just the cleared background).
func nonBlank(img image.Image) bool {
	if img == nil {
		return false
	}
	b := img.Bounds()
	if b.Empty() {
		return false
	}
	r0, g0, b0, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 {
				return true
			}
		}
	}
	return false
}

// rss reads VmRSS and VmHWM of this process (Linux).
func rss() (cur, hwm int64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, fmt.Errorf("rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, perr := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if perr != nil {
			continue
		}
		switch k {
		case "VmRSS":
			cur = n
		case "VmHWM":
			hwm = n
		}
	}
	return cur, hwm, sc.Err()
}

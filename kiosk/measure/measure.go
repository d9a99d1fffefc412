// Package measure reports a Fyne app's startup cost for `make measure`: the wall-clock
// time of its first painted frame and its resident memory once started. The kiosk
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
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
)

// Result is what Report writes (JSON).
type Result struct {
	FirstFrameUnixNano int64 `json:"first_frame_unix_nano"` // wall clock of the first frame painted
	RSSKiB             int64 `json:"rss_kib"`               // VmRSS after the settle time
	HWMKiB             int64 `json:"hwm_kib"`               // VmHWM (peak RSS) at that time
}

// Start puts an invisible 1×1 probe into the window and reports, in the background, the
// wall-clock time of the first frame that painted it: a canvas.Raster's generator runs
// only when the GL painter draws the raster, so its first call is the first frame. Then
// it waits settle, reads the resident memory, writes the Result to file and quits the
// app. Call it before w.Show, with the window's first content set: the GLFW driver paints
// the first frame while showing the window, so a probe added after Show would time a
// later frame.
func Start(a fyne.App, w fyne.Window, file string, settle time.Duration, log *slog.Logger) {
	first := make(chan time.Time, 1)
	var once sync.Once
	probe := canvas.NewRaster(func(int, int) image.Image {
		once.Do(func() { first <- time.Now() })
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	})
	probe.SetMinSize(fyne.NewSize(1, 1))
	w.SetContent(container.NewBorder(nil, container.NewHBox(probe), nil, nil, w.Content()))
	go func() {
		var r Result
		select {
		case t := <-first:
			r.FirstFrameUnixNano = t.UnixNano()
		case <-time.After(60 * time.Second):
			log.Error("measure: no frame within 60 s")
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
	}()
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

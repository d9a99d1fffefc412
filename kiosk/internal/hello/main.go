// Command hello is the baseline of `make measure`: a hello-world Fyne window using the
// same bundled CJK font (through the kiosk theme) and the same window size as the
// counter app. With -measure FILE it reports its first frame and resident memory.
package main

import (
	"flag"
	"log/slog"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/kiosk"
	"github.com/pharmachain/counter/kiosk/measure"
)

func main() {
	out := flag.String("measure", "", "write startup measurements to this file and quit")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	a := app.NewWithID("com.pharmachain.hello")
	th, err := kiosk.NewTheme(1)
	if err != nil {
		log.Error("theme", "err", err)
		os.Exit(1)
	}
	a.Settings().SetTheme(th)
	w := a.NewWindow("Hello")
	w.SetContent(widget.NewLabel("你好，世界 — Hello, world"))
	w.Resize(fyne.NewSize(1280, 800))
	if *out != "" {
		measure.Start(a, w, *out, 2*time.Second, log)
	}
	w.Show()
	a.Run()
}

package demo

import (
	"fmt"
	"os"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
	"github.com/creack/pty"
)

// PTY is a pseudo-terminal pair standing in for a serial scanner: the kiosk's serial
// reader opens Path (the slave side) exactly like /dev/ttyUSB0, and Send writes a code
// with a CR suffix into the master side, as a scanner would.
type PTY struct {
	mu     sync.Mutex
	master *os.File
	slave  *os.File // kept open so the line stays up between the reader's reconnects
	Path   string
}

// OpenPTY opens a PTY pair (Linux, macOS).
func OpenPTY() (*PTY, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("demo scanner: open pty: %w", err)
	}
	return &PTY{master: m, slave: s, Path: s.Name()}, nil
}

// Send writes one code followed by CR, as a scanner configured with a CR suffix does.
func (p *PTY) Send(code string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.master.Write([]byte(code + "\r")); err != nil {
		return fmt.Errorf("demo scanner: write: %w", err)
	}
	return nil
}

// Close closes both sides.
func (p *PTY) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.master.Close()
	if serr := p.slave.Close(); err == nil {
		err = serr
	}
	return err
}

// Button is one button of the demo scanner window.
type Button struct {
	Label string
	Code  string // what the "scanner" sends
}

// Buttons lists what the demo scanner can scan: the customers' ID cards, one
// customer's insurance QR, the staff badges and drug boxes. The labels are in the UI's
// language (the kiosk's translations, "demo.*").
func Buttons() []Button {
	var out []Button
	for _, c := range Customers {
		out = append(out, Button{lang.L("demo.customer_id", map[string]any{"Label": c.Label,
			"Story": lang.L("demo.story." + c.Label)}), c.ID})
	}
	out = append(out, Button{lang.L("demo.insurance", map[string]any{"Name": Customers[1].Name}), "YBDEMO0000000000000002"})
	for _, p := range Pharmacists {
		out = append(out, Button{lang.L("demo.badge", map[string]any{"Name": p.Name, "ID": p.ID}), "STAFF-" + p.Badge})
	}
	out = append(out, Button{lang.L("demo.drug_box"), DrugCodes[0]}, Button{lang.L("demo.trace_code"), "81010001234567890123"})
	out = append(out, Button{lang.L("demo.garbage"), "??garbage??"})
	return out
}

// ScannerWindow is the small "demo scanner" window: each button sends a code through
// send (the PTY on Linux; injected frames elsewhere). status shows where codes go.
func ScannerWindow(a fyne.App, status string, send func(code string) error) fyne.Window {
	w := a.NewWindow(lang.L("demo.title"))
	msg := widget.NewLabel(status)
	msg.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{msg}
	for _, b := range Buttons() {
		code := b.Code
		objs = append(objs, widget.NewButton(b.Label, func() {
			if err := send(code); err != nil {
				msg.SetText(err.Error())
			}
		}))
	}
	w.SetContent(container.NewVScroll(container.NewVBox(objs...)))
	w.Resize(fyne.NewSize(520, 640))
	return w
}

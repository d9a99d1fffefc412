package demo

import (
	"fmt"
	"os"
	"sync"

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

// Label is a text of the demo scanner window in the UI's language: a key of the kiosk's
// translations ("demo.*") with its parameters; a parameter that is itself a Label is
// rendered first.
type Label struct {
	Key  string
	Args map[string]any
}

// Button is one button of the demo scanner window.
type Button struct {
	Label Label
	Code  string // what the "scanner" sends
}

// Buttons lists what the demo scanner can scan: the customers' ID cards, one
// customer's insurance QR, the staff badges and drug boxes.
func Buttons() []Button {
	var out []Button
	cs := Customers()
	for _, c := range cs {
		out = append(out, Button{Label{"demo.customer_id", map[string]any{"Label": c.Label,
			"Story": Label{Key: "demo.story." + c.Label}}}, c.ID})
	}
	out = append(out, Button{Label{"demo.insurance", map[string]any{"Name": cs[1].Name}}, InsuranceToken})
	for _, p := range Pharmacists() {
		out = append(out, Button{Label{"demo.badge", map[string]any{"Name": p.Name, "ID": p.ID}}, "STAFF-" + p.Badge})
	}
	out = append(out, Button{Label{Key: "demo.drug_box"}, DrugCodes()[0]}, Button{Label{Key: "demo.trace_code"}, "81010001234567890123"})
	out = append(out, Button{Label{Key: "demo.garbage"}, "??garbage??"})
	return out
}

// InsuranceToken is the demo insurance gateway's QR token of customer B.
const InsuranceToken = "YBDEMO0000000000000002"

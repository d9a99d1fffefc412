package kiosk

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/kiosk/demo"
)

// seededStore returns a function that makes a data dir holding a copy of the seeded
// demo store.
func seededStore(t *testing.T) func(t *testing.T) string {
	return func(t *testing.T) string {
		dir := t.TempDir()
		copySeeded(t, dir)
		return dir
	}
}

// state is what a scan can change: the screen, who is signed in, the open visit, the
// status line and the text of every field on the screen.
func (h *harness) state() string {
	var b strings.Builder
	fmt.Fprintf(&b, "screen=%T", h.u.cur)
	if p, ok := h.c.Pharmacist(); ok {
		fmt.Fprintf(&b, " pharmacist=%s", p.ID)
	}
	if vs, ok := h.c.Visit(); ok {
		fmt.Fprintf(&b, " visit=%s/%s", vs.Visit.CustomerMasked, vs.Visit.Outcome)
	}
	msg := ""
	if m, ok := h.c.Message(); ok {
		msg = h.u.note(m.Text)
	}
	fmt.Fprintf(&b, " msg=%q", msg)
	switch s := h.u.cur.(type) {
	case *pinScreen:
		fmt.Fprintf(&b, " pin=%d", s.p.Digits())
	case *manualIDScreen:
		fmt.Fprintf(&b, " manual=%q", s.p.Typed())
	case *settingsScreen:
		for _, e := range []*kEntry{s.baud, s.hq, s.storeID, s.token, s.secret, s.lockFor} {
			fmt.Fprintf(&b, " %q", e.Text)
		}
		fmt.Fprintf(&b, " %q %q log=%d", s.port.Text, s.suffix.Text, len(h.c.ScanLog()))
	case *addPharmacistScreen:
		fmt.Fprintf(&b, " %q %q %q %q %t", s.id.Text, s.name.Text, s.pin.Text, s.badge.Text, s.manager.Checked)
	}
	return b.String()
}

// On every screen a keyboard-wedge scan (typed into the window
// at 2.5 ms per key, delivered in per-frame batches with TypedKey and TypedRune, into a
// focused field where the screen has one) does exactly what the same code does from the
// serial scanner — never a menu choice, never PIN digits, never text in a field.
func TestWedgeScanEveryScreen(t *testing.T) {
	dataDir := seededStore(t)
	badge, id, other := "STAFF-0002", demo.Customers()[1].ID, demo.Customers()[2].ID
	signedIn := func(h *harness) { h.signIn(1, "1234") }
	inVisit := func(steps ...fyne.KeyName) func(h *harness) {
		return func(h *harness) {
			signedIn(h)
			h.serialScan(other)
			h.loaded()
			for _, k := range steps {
				if k == "answers" {
					h.typeString("121")
					continue
				}
				h.key(k)
			}
		}
	}
	focus := func(h *harness, f fyne.Focusable) { h.w.Canvas().Focus(f) }
	screens := []struct {
		name  string
		goTo  func(h *harness)
		codes []string
	}{
		{"sign-in", func(*harness) {}, []string{badge, id}},
		{"PIN", func(h *harness) { h.typeRune('1'); h.typeString("12") }, []string{badge, id}},
		{"waiting", signedIn, []string{id, badge, demo.DrugCodes()[0], "1234567"}},
		{"manual entry", func(h *harness) { signedIn(h); h.typeRune('1'); h.typeString("110") }, []string{id, badge}},
		{"step 1", inVisit(), []string{id, other, badge}},
		{"step 2", inVisit(fyne.KeyReturn), []string{id, demo.DrugCodes()[0]}},
		{"step 3", inVisit(fyne.KeyReturn, "answers", fyne.KeyReturn), []string{id, other}},
		{"step 4", inVisit(fyne.KeyReturn, "answers", fyne.KeyReturn, fyne.KeyReturn), []string{id}},
		{"manager view", func(h *harness) { signedIn(h); h.typeRune('2'); h.typeString("1234"); h.key(fyne.KeyReturn) }, []string{id, badge}},
		{"manager PIN", func(h *harness) { signedIn(h); h.typeRune('2'); h.typeString("12") }, []string{badge}},
		{"settings, field focused", func(h *harness) {
			signedIn(h)
			h.typeRune('3')
			h.typeString("1234")
			h.key(fyne.KeyReturn)
			focus(h, h.u.cur.(*settingsScreen).hq)
		}, []string{id, badge}},
		{"settings, port focused", func(h *harness) {
			signedIn(h)
			h.typeRune('3')
			h.typeString("1234")
			h.key(fyne.KeyReturn)
			focus(h, h.u.cur.(*settingsScreen).port)
		}, []string{id}},
		{"add pharmacist, field focused", func(h *harness) {
			h.key(fyne.KeyF2)
			h.typeString("1234")
			h.key(fyne.KeyReturn)
			h.settle()
		}, []string{badge, id}},
		{"add pharmacist, check box focused", func(h *harness) {
			h.key(fyne.KeyF2)
			h.typeString("1234")
			h.key(fyne.KeyReturn)
			focus(h, h.u.cur.(*addPharmacistScreen).manager)
		}, []string{badge}},
	}
	for _, sc := range screens {
		for _, code := range sc.codes {
			t.Run(sc.name+"/"+code[:4], func(t *testing.T) {
				serial := newHarness(t, harnessOpts{dataDir: dataDir(t)})
				sc.goTo(serial)
				before := serial.state()
				serial.serialScan(code)
				serial.settle()
				want := serial.state()

				wedge := newHarness(t, harnessOpts{dataDir: dataDir(t)})
				sc.goTo(wedge)
				if s := wedge.state(); s != before {
					t.Fatalf("set-up differs: %s vs %s", s, before)
				}
				if f, ok := wedge.w.Canvas().Focused().(fyne.Focusable); ok {
					t.Logf("focused: %T", f)
				}
				wedge.wedgeScan(code)
				wedge.settle()
				if got := wedge.state(); got != want {
					t.Fatalf("wedge scan of %q on %s:\n got  %s\n want %s (serial)\n before %s", code, sc.name, got, want, before)
				}
				if want == before && code != "1234567" {
					t.Logf("the scan changed nothing on %s: %s", sc.name, want)
				}
			})
		}
	}
}

package counter

import (
	"context"
	"errors"
	"testing"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/kiosk/demo"
)

// The settings are validated, saved in the store and applied; a failure to apply (the
// serial port) is reported, not dropped.
func TestSaveSettings(t *testing.T) {
	r := newRig(t, rigOpts{})
	applied := 0
	r.c.deps.ApplyConfig = func(c Config) error {
		applied++
		if c.Port == "" {
			return errors.New("no serial port configured")
		}
		return nil
	}
	r.signIn(1, "1234")
	r.press("3")
	r.press("1234")
	r.key(KeyEnter)
	r.mustBe(ScreenSettings)
	cfg := r.c.Config()
	cfg.HQURL = "not a url"
	if err := r.c.SaveSettings(cfg); err == nil {
		t.Fatal("an invalid HQ URL was saved")
	}
	cfg.HQURL, cfg.Baud = "http://hq.example.cn:8080", 19200
	var ae *ApplyError
	if err := r.c.SaveSettings(cfg); !errors.As(err, &ae) {
		t.Fatalf("saving without a port: %v, want the apply error", err)
	}
	var saved Config
	if err := r.st.LoadConfig(&saved); err != nil || saved.Baud != 19200 || saved.HQURL != "http://hq.example.cn:8080" {
		t.Fatalf("saved %+v, %v", saved, err)
	}
	cfg.Port = "/dev/ttyUSB9"
	if err := r.c.SaveSettings(cfg); err != nil || applied != 2 || r.c.Config().Port != "/dev/ttyUSB9" {
		t.Fatalf("save: %v, applied %d, port %q", err, applied, r.c.Config().Port)
	}
	r.key(KeyEscape)
	r.mustBe(ScreenWaiting)
}

// First start of an offline install: no roster, F2 adds the first manager without a PIN.
func TestFirstManagerOnEmptyRoster(t *testing.T) {
	r := newRig(t, rigOpts{noSeed: true})
	if len(r.c.Roster()) != 0 {
		t.Fatal("roster not empty")
	}
	r.key(KeyF2)
	r.mustBe(ScreenAddPharmacist)
	if !r.c.Page().(*AddPharmacistPage).FirstManager {
		t.Fatal("the first pharmacist should default to manager")
	}
	var fe *FormError
	if err := r.c.AddPharmacist(NewPharmacist{ID: "M 1", PIN: "4321", Manager: true}); !errors.As(err, &fe) || fe.Text.Key != "add.bad_id" {
		t.Fatalf("bad id: %v", err)
	}
	if err := r.c.AddPharmacist(NewPharmacist{ID: "M1", PIN: "12", Manager: true}); !errors.As(err, &fe) || fe.Text.Key != "add.bad_pin" {
		t.Fatalf("short PIN: %v", err)
	}
	if err := r.c.AddPharmacist(NewPharmacist{ID: "M1", PIN: "4321", Manager: true}); err != nil {
		t.Fatal(err)
	}
	r.mustBe(ScreenSignIn)
	if r.messageKey() != "add.saved" {
		t.Fatalf("message %q", r.messageKey())
	}
	r.signIn(1, "4321")
	r.press("2") // now there is a manager: the manager view asks M1's PIN
	if p, ok := r.c.Page().(*PINPage); !ok || p.Who.ID != "M1" {
		t.Fatalf("page %s", r.screen())
	}
}

// The demo scanner's real PTY → devices.SerialReader → the core: a badge and an ID card
// "scanned" on the PTY sign in and start a visit, and the device state is shown.
func TestPTYSerialPath(t *testing.T) {
	r := newRig(t, rigOpts{})
	p, err := demo.OpenPTY()
	if err != nil {
		t.Skip("no PTY:", err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd := NewReader(ctx, r.cls, nil, r.c.DeviceEvent)
	cfg := r.c.Config()
	cfg.Port = p.Path
	if err := rd.Open(cfg); err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	r.waitFor("device connected", func() bool { return r.c.Status().Device == devices.StateConnected })
	if err := p.Send("STAFF-0001"); err != nil {
		t.Fatal(err)
	}
	r.waitFor("badge sign-in", func() bool { _, ok := r.c.Pharmacist(); return ok })
	if err := p.Send(demo.Customers()[3].ID); err != nil {
		t.Fatal(err)
	}
	r.waitFor("visit", func() bool { _, ok := r.c.Visit(); return ok })
	if m := r.vs().Visit.CustomerMasked; m != "5131**********0014" {
		t.Fatalf("masked %q", m)
	}
	if err := rd.Open(Config{}); err == nil {
		t.Fatal("opening without a port did not fail")
	}
}

package counter

import (
	"errors"
	"regexp"
	"strings"

	"github.com/pharmachain/counter/flows"
)

// SettingsPage (manager PIN) is the settings form; the screen owns the form's fields
// and calls SaveSettings (F5) and TestDevice (F6). Esc or Backspace goes back.
type SettingsPage struct {
	emptyPage
	back Page
}

// Screen implements Page.
func (*SettingsPage) Screen() Screen { return ScreenSettings }

func (p *SettingsPage) key(c *Core, k Key) bool {
	if k == KeyEscape || k == KeyBackspace {
		c.clearMessage()
		c.show(p.back)
		return true
	}
	return false
}

// SaveSettings validates cfg, stores it and applies it (the serial port is reopened;
// HQ address, token and secret take effect at the next start). A failure to apply is
// returned after the settings were saved.
func (c *Core) SaveSettings(cfg Config) error {
	cfg.DataDir = c.cfg.DataDir
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := c.deps.Store.SaveConfig(cfg); err != nil {
		return err
	}
	c.cfg = cfg
	if c.deps.ApplyConfig != nil {
		if err := c.deps.ApplyConfig(cfg); err != nil {
			c.log.Warn("apply settings", "err", err)
			return &ApplyError{Err: err}
		}
	}
	return nil
}

// ApplyError is a saved configuration that could not be applied (the serial port did
// not open): the settings are kept, the device is not reading.
type ApplyError struct{ Err error }

func (e *ApplyError) Error() string { return "saved, but not applied: " + e.Err.Error() }
func (e *ApplyError) Unwrap() error { return e.Err }

// TestDevice reopens the serial reader with cfg's port (the scan log shows what it
// reads).
func (c *Core) TestDevice(cfg Config) error {
	if c.deps.TestDevice == nil {
		return errors.New("no serial reader in this run")
	}
	return c.deps.TestDevice(cfg)
}

// AddPharmacistPage lets a manager add a pharmacist locally (offline install); the
// screen owns the form and calls AddPharmacist. Esc goes back.
type AddPharmacistPage struct {
	emptyPage
	// FirstManager: the roster is empty, so the first pharmacist added is its manager.
	FirstManager bool
	back         Page
}

// Screen implements Page.
func (*AddPharmacistPage) Screen() Screen { return ScreenAddPharmacist }

func (p *AddPharmacistPage) key(c *Core, k Key) bool {
	if k == KeyEscape {
		c.show(p.back)
		return true
	}
	return false
}

var pharmacistIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// NewPharmacist is the add-pharmacist form.
type NewPharmacist struct {
	ID, Name, PIN, Badge string
	Manager              bool
}

// FormError is a field of a form the core refused: Text says why in the UI's language.
type FormError struct {
	Text Text
	Err  error // the cause, if any
}

func (e *FormError) Error() string {
	if e.Err != nil {
		return e.Text.Key + ": " + e.Err.Error()
	}
	return e.Text.Key
}

func (e *FormError) Unwrap() error { return e.Err }

// AddPharmacist adds a pharmacist to the local roster and goes back, saying so.
func (c *Core) AddPharmacist(f NewPharmacist) error {
	p, ok := c.page.(*AddPharmacistPage)
	if !ok {
		return errors.New("not on the add-pharmacist page")
	}
	id := strings.TrimSpace(f.ID)
	if !pharmacistIDRe.MatchString(id) {
		return &FormError{Text: Text{Key: "add.bad_id"}}
	}
	name := strings.TrimSpace(f.Name)
	if name == "" {
		name = id
	}
	h, err := HashPIN(strings.TrimSpace(f.PIN))
	if err != nil {
		return &FormError{Text: Text{Key: "add.bad_pin"}, Err: err}
	}
	ph := flows.Pharmacist{ID: id, StoreID: c.cfg.StoreID, Name: name, Manager: f.Manager,
		PINHash: h, Badge: strings.TrimSpace(f.Badge)}
	if err := c.deps.Store.AddLocalPharmacist(ph); err != nil {
		return err
	}
	c.msg = &Note{Text: Text{Key: "add.saved", Args: map[string]any{"Name": ph.Name}}}
	c.show(p.back)
	return nil
}

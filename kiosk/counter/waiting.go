package counter

import (
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
)

// WaitingPage waits for the next customer's scan: 1 types an ID number, 2 opens the
// manager view, 3 the settings (both behind a manager PIN), 4 signs out.
type WaitingPage struct{}

// Screen implements Page.
func (*WaitingPage) Screen() Screen { return ScreenWaiting }

func (p *WaitingPage) rune(c *Core, r rune) bool {
	switch r {
	case '1':
		c.clearMessage()
		c.show(&ManualIDPage{back: p})
	case '2':
		c.managerGate(p, func() { c.showManager(p) })
	case '3':
		c.managerGate(p, func() { c.show(&SettingsPage{back: p}) })
	case '4':
		c.signOut()
	default:
		return false
	}
	return true
}

func (*WaitingPage) key(*Core, Key) bool { return false }

// TodayRate returns today's visits and completion rate (all pharmacists).
func (c *Core) TodayRate() (visits int, rate float64) {
	d := flows.DayOf(c.now())
	vs, err := c.deps.Store.Visits(c.ctx, d, d)
	if err != nil {
		c.log.Warn("today's visits", "err", err)
		return 0, 0
	}
	rows := flows.Completion(vs, "all")
	if len(rows) == 0 {
		return 0, 0
	}
	return rows[0].Visits, rows[0].Rate
}

// Points returns a pharmacist's points as last pulled from HQ.
func (c *Core) Points(id string) (int, bool) {
	rows, err := c.deps.Store.Points()
	if err != nil {
		return 0, false
	}
	for _, r := range rows {
		if r.PharmacistID == id {
			return r.Points, true
		}
	}
	return 0, false
}

// ManualIDPage: type an ID number (digits and X only) for a card that cannot be read.
// It is checked exactly as the classifier checks a scanned one.
type ManualIDPage struct {
	buf  []rune
	Err  any // why the number was refused: a *devices.Problem or an error text
	back Page
}

// Screen implements Page.
func (*ManualIDPage) Screen() Screen { return ScreenManualID }

// Typed is what has been typed so far (shown while typing; cleared once submitted).
func (p *ManualIDPage) Typed() string { return string(p.buf) }

func (p *ManualIDPage) rune(c *Core, r rune) bool {
	if (r < '0' || r > '9') && r != 'x' && r != 'X' {
		return false
	}
	if len(p.buf) < 18 {
		if r == 'x' {
			r = 'X'
		}
		p.buf = append(p.buf, r)
		p.Err = nil
		c.changed()
	}
	return true
}

func (p *ManualIDPage) key(c *Core, k Key) bool {
	switch {
	case isEnter(k):
		p.submit(c)
	case k == KeyBackspace:
		if len(p.buf) == 0 {
			c.show(p.back)
			return true
		}
		p.buf = p.buf[:len(p.buf)-1]
		c.changed()
	case k == KeyEscape:
		p.buf = nil
		c.show(p.back)
	default:
		return false
	}
	return true
}

func (p *ManualIDPage) submit(c *Core) {
	raw := string(p.buf)
	if _, err := devices.NormaliseIDNumber(raw, c.now()); err != nil {
		p.Err = errArg(err)
		c.changed()
		return
	}
	scan := c.deps.Classifier.Classify(devices.MakeFrame([]byte(raw), c.now()))
	for i := range p.buf { // the raw number lives no longer than needed
		p.buf[i] = 0
	}
	p.buf = nil
	if scan.Kind != devices.KindIDNumber || !scan.Valid {
		p.Err = ScanProblem(scan)
		c.changed()
		return
	}
	c.HandleScan(scan)
}

// errArg is an error as a message argument: its devices problem when it has one (the
// screens render it in the UI's language), else its text.
func errArg(err error) any {
	if p, ok := devices.ProblemOf(err); ok {
		return p
	}
	return err.Error()
}

package counter

import "github.com/pharmachain/counter/flows"

// SummaryPage shows the finished visit: each step's record, the outcome and the
// scheduled follow-up. Enter (or Esc) returns to the waiting page.
type SummaryPage struct {
	emptyPage
	Visit flows.Visit
}

// Screen implements Page.
func (*SummaryPage) Screen() Screen { return ScreenSummary }

func (*SummaryPage) key(c *Core, k Key) bool {
	if !isEnter(k) && k != KeyEscape {
		return false
	}
	c.finishVisit()
	c.clearMessage()
	c.show(&WaitingPage{})
	return true
}

// ConfirmAbandonPage asks whether to abandon the open visit (Esc, or a new customer
// scanned mid-visit). Enter or 1 abandons (saved as such), Backspace, Esc or 2 returns
// to the visit.
type ConfirmAbandonPage struct {
	Reason string // AbandonPharmacist or AbandonNewCustomer
	back   Page
	then   func() // after abandoning (start the new customer's visit)
}

// Screen implements Page.
func (*ConfirmAbandonPage) Screen() Screen { return ScreenConfirmAbandon }

func (p *ConfirmAbandonPage) rune(c *Core, r rune) bool {
	switch r {
	case '1':
		return p.key(c, KeyEnter)
	case '2':
		return p.key(c, KeyBackspace)
	}
	return false
}

func (p *ConfirmAbandonPage) key(c *Core, k Key) bool {
	switch {
	case isEnter(k):
		c.abandon(p.Reason)
		c.clearMessage()
		if p.then != nil {
			p.then()
			return true
		}
		c.show(&WaitingPage{})
	case k == KeyBackspace || k == KeyEscape:
		c.show(p.back)
	default:
		return false
	}
	return true
}

// LockPage hides everything after the idle time; any key or a badge scan unlocks to the
// sign-in page.
type LockPage struct{ emptyPage }

// Screen implements Page.
func (*LockPage) Screen() Screen { return ScreenLock }

// CheckIdle locks the counter after LockAfter without input, saving an open visit as
// abandoned (idle). Tick calls it; tests call it directly.
func (c *Core) CheckIdle() {
	if c.locked || c.pharmacist == nil {
		return
	}
	if c.now().Sub(c.lastInput) < c.cfg.LockAfter {
		return
	}
	c.abandon(AbandonIdle)
	c.locked = true
	c.pharmacist = nil
	c.clearMessage()
	c.show(&LockPage{})
}

func (c *Core) unlock() {
	c.locked = false
	c.pharmacist = nil
	c.show(&SignInPage{})
}

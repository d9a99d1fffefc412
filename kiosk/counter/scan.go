package counter

import (
	"context"
	"time"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
)

// ScanLogEntry is one line of the installer's live scan log (settings): a scan, a
// device state change or a rejected frame.
type ScanLogEntry struct {
	At    time.Time
	Scan  *devices.Scan    // a scan (its summary is log-safe: never a raw ID or token)
	State string           // a device state change (devices.State*)
	Err   *devices.Problem // a rejected frame, or why the device is not connected
	Text  string           // the error text when there is no problem code
}

const scanLogMax = 200

// ScanLog is the installer's scan log, oldest first.
func (c *Core) ScanLog() []ScanLogEntry { return c.scanLog }

func (c *Core) logScan(e ScanLogEntry) {
	c.scanLog = append(c.scanLog, e)
	if len(c.scanLog) > scanLogMax {
		c.scanLog = c.scanLog[len(c.scanLog)-scanLogMax:]
	}
}

// DeviceEvent feeds a serial reader event; call it from any goroutine.
func (c *Core) DeviceEvent(ev devices.Event) { c.post(func() { c.HandleDeviceEvent(ev) }) }

// HandleDeviceEvent handles a serial reader event on the core's goroutine.
func (c *Core) HandleDeviceEvent(ev devices.Event) {
	switch ev.Type {
	case devices.EventDevice:
		c.device, c.deviceProb, c.deviceErr = ev.State, ev.Problem, ev.Err
		c.logScan(ScanLogEntry{At: ev.At, State: ev.State, Err: ev.Problem, Text: ev.Err})
		c.changed()
	case devices.EventError:
		c.logScan(ScanLogEntry{At: ev.At, Err: ev.Problem, Text: ev.Err})
		c.changed()
	case devices.EventScan:
		if ev.Scan != nil {
			c.HandleScan(*ev.Scan)
		}
	}
}

// ScanProblem is why a scan is invalid, as a message argument: the devices problem
// (rendered in the UI's language) or, without a code, its error text.
func ScanProblem(s devices.Scan) any {
	if s.Problem != nil {
		return s.Problem
	}
	return s.Error
}

// HandleScan handles a classified scan, whichever device it came from.
func (c *Core) HandleScan(s devices.Scan) {
	c.log.Debug("scan", "kind", s.Kind, "valid", s.Valid)
	c.Touch()
	// The log keeps what its line shows: never the insurance token the scan carries.
	c.logScan(ScanLogEntry{At: s.At, Scan: &devices.Scan{Kind: s.Kind, Valid: s.Valid, Masked: s.Masked,
		Code: s.Code, StaffID: s.StaffID, Error: s.Error, Problem: s.Problem, At: s.At}})
	if c.locked {
		c.unlock()
	}
	if c.page.Screen() == ScreenSettings {
		c.changed() // the installer watches the scan log; nothing else happens
		return
	}
	if !s.Valid {
		key := "msg.scan_invalid"
		if s.Kind == devices.KindIDNumber {
			key = "msg.id_invalid"
		}
		c.say(true, key, map[string]any{"Err": ScanProblem(s)})
		return
	}
	switch s.Kind {
	case devices.KindStaffBadge:
		c.staffScan(s)
	case devices.KindIDNumber:
		c.customerScan(s, "")
	case devices.KindInsuranceQR:
		c.insuranceScan(s)
	case devices.KindGTIN, devices.KindTraceCode, devices.KindGS1:
		c.drugScan(s)
	default:
		c.say(true, "msg.scan_unknown", nil)
	}
}

func (c *Core) staffScan(s devices.Scan) {
	if c.visitOpen() {
		c.say(true, "msg.finish_visit_first", nil)
		return
	}
	p, ok := c.findPharmacist(func(p flows.Pharmacist) bool {
		return (p.Badge != "" && p.Badge == s.StaffID) || p.ID == s.StaffID
	})
	if !ok {
		c.say(true, "msg.badge_unknown", map[string]any{"ID": s.StaffID})
		return
	}
	c.signIn(p)
}

func (c *Core) drugScan(s devices.Scan) {
	code := s.Code
	if s.Kind == devices.KindTraceCode {
		code = s.DrugID
	}
	if d, ok := c.content.Data.Catalog.Lookup(code); ok {
		c.say(false, "msg.drug", map[string]any{"Name": d.Name, "Code": s.Code})
		return
	}
	c.say(true, "msg.drug_unknown", map[string]any{"Code": s.Code})
}

func (c *Core) insuranceScan(s devices.Scan) {
	if c.deps.Resolver == nil {
		c.say(true, "devices.insurance.unresolved", nil)
		return
	}
	c.say(false, "msg.insurance_resolving", nil)
	cls, res := c.deps.Classifier, c.deps.Resolver
	go func() {
		ctx, cancel := context.WithTimeout(c.ctx, HQBudget)
		defer cancel()
		id, name, err := cls.ResolveInsurance(ctx, s, res)
		c.post(func() {
			if err != nil {
				c.log.Info("insurance QR not resolved", "err", err)
				c.say(true, "devices.insurance.unresolved", nil)
				return
			}
			c.customerScan(id, name)
		})
	}()
}

// customerScan starts a visit for a scanned (or typed) ID, asking first whether to
// abandon an open visit.
func (c *Core) customerScan(s devices.Scan, name string) {
	if c.pharmacist == nil {
		c.say(true, "msg.sign_in_first", nil)
		return
	}
	if rp, ok := c.page.(*ResumePage); ok { // a scan answers the offer: the same customer resumes
		if rp.Visit.CustomerKey == s.CustomerKey {
			c.resume(rp.Visit)
			return
		}
		c.dropResumable(rp.Visit)
	}
	if c.visitOpen() {
		if c.visit.CustomerKey == s.CustomerKey {
			c.say(false, "msg.same_customer", nil)
			return
		}
		c.show(&ConfirmAbandonPage{Reason: AbandonNewCustomer, back: c.page, then: func() { c.startVisit(s, name) }})
		return
	}
	c.startVisit(s, name)
}

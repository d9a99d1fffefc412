package counter

import (
	"encoding/json"
	"time"

	"github.com/pharmachain/counter/flows"
)

// ResumeWithin is how long after its last save (a step or a draft) a visit a crash left
// open is offered to its pharmacist at sign-in; older ones are saved as abandoned.
const ResumeWithin = 10 * time.Minute

// draft is what a step holds before it is recorded (kiosk/store keeps it with the open
// visit, see store.SaveDraft): a visit resumed after a crash continues with it.
type draft struct {
	At       time.Time         `json:"at"` // when it was saved
	Answers  map[string]string `json:"answers,omitempty"`
	Accepted [2]bool           `json:"accepted,omitzero"`
	Consent  map[string]bool   `json:"consent,omitempty"`
}

// resumable is a visit a crash left open, with its last save.
type resumable struct {
	v    flows.Visit
	last time.Time
}

// saveDraft stores the open visit's unrecorded input.
func (c *Core) saveDraft() {
	if !c.visitOpen() {
		return
	}
	b, err := json.Marshal(draft{At: c.now(), Answers: c.vs.Answers, Accepted: c.vs.Accepted, Consent: c.vs.Consent})
	if err == nil {
		err = c.deps.Store.SaveDraft(c.ctx, c.visit.ID, b)
	}
	if err != nil {
		c.log.Error("save draft", "visit", c.visit.ID, "err", err)
		c.say(true, "msg.save_failed", map[string]any{"Err": err.Error()})
	}
}

// readDraft is an open visit's draft (zero when it has none or it cannot be read).
func (c *Core) readDraft(id string) draft {
	var d draft
	b, err := c.deps.Store.Draft(c.ctx, id)
	if err == nil && len(b) > 0 {
		err = json.Unmarshal(b, &d)
	}
	if err != nil {
		c.log.Warn("draft of an open visit", "visit", id, "err", err)
	}
	return d
}

// sortOpenVisits looks at the visits a crash or power cut left open: those saved within
// ResumeWithin on the content in use are kept for their pharmacist, the others are
// saved as abandoned (idle).
func (c *Core) sortOpenVisits() {
	open, err := c.deps.Store.OpenVisits(c.ctx)
	if err != nil {
		c.log.Warn("open visits", "err", err)
		return
	}
	for _, v := range open {
		last := v.UpdatedAt
		if d := c.readDraft(v.ID); d.At.After(last) {
			last = d.At
		}
		if c.now().Sub(last) < ResumeWithin && v.ContentVersion == c.content.Version {
			c.log.Info("visit left open by a crash: offered to its pharmacist", "visit", v.ID, "pharmacist", v.PharmacistID,
				"customer", v.CustomerMasked, "step", max(1, flows.NextStep(v)))
			c.resumable = append(c.resumable, resumable{v: v, last: last})
			continue
		}
		c.dropResumable(v)
	}
}

// dropResumable saves a visit left open as abandoned (idle), as if the counter had
// locked while it was open.
func (c *Core) dropResumable(v flows.Visit) {
	c.forgetResumable(v.ID)
	if err := flows.Abandon(&v, AbandonIdle, c.now()); err != nil {
		return
	}
	if err := c.deps.Store.SaveVisit(c.ctx, v); err != nil {
		c.log.Warn("abandon open visit", "visit", v.ID, "err", err)
		return
	}
	if c.deps.Kick != nil {
		c.deps.Kick()
	}
}

func (c *Core) forgetResumable(id string) {
	for i, r := range c.resumable {
		if r.v.ID == id {
			c.resumable = append(c.resumable[:i], c.resumable[i+1:]...)
			return
		}
	}
}

// expireResumable abandons the visits nobody resumed in time.
func (c *Core) expireResumable() {
	for _, r := range append([]resumable(nil), c.resumable...) {
		if c.now().Sub(r.last) >= ResumeWithin {
			c.dropResumable(r.v)
		}
	}
}

// resumableFor is pharmacist id's most recent visit left open, if still in time.
func (c *Core) resumableFor(id string) (flows.Visit, bool) {
	c.expireResumable()
	var best *resumable
	for i, r := range c.resumable {
		if r.v.PharmacistID == id && (best == nil || r.last.After(best.last)) {
			best = &c.resumable[i]
		}
	}
	if best == nil {
		return flows.Visit{}, false
	}
	return best.v, true
}

// ResumePage offers the signed-in pharmacist their visit a crash interrupted: Enter (or
// 1) resumes it at the step reached with what was entered, Esc (or 2) abandons it (idle).
type ResumePage struct {
	Visit flows.Visit
}

// Screen implements Page.
func (*ResumePage) Screen() Screen { return ScreenResume }

// Step is the step the visit had reached (the one to do next).
func (p *ResumePage) Step() int { return max(1, flows.NextStep(p.Visit)) }

func (p *ResumePage) rune(c *Core, r rune) bool {
	switch r {
	case '1':
		return p.key(c, KeyEnter)
	case '2':
		return p.key(c, KeyEscape)
	}
	return false
}

func (p *ResumePage) key(c *Core, k Key) bool {
	switch {
	case isEnter(k):
		c.resume(p.Visit)
	case k == KeyEscape:
		c.dropResumable(p.Visit)
		c.refreshStats()
		c.show(&WaitingPage{})
	default:
		return false
	}
	return true
}

// resume reopens v at the step it reached, with its recorded steps and its draft.
func (c *Core) resume(v flows.Visit) {
	c.forgetResumable(v.ID)
	d := c.readDraft(v.ID)
	vs := &VisitState{Content: c.content, Answers: map[string]string{}, Consent: map[string]bool{}, Accepted: d.Accepted}
	for k, a := range d.Answers {
		vs.Answers[k] = a
	}
	for k, ok := range d.Consent {
		vs.Consent[k] = ok
	}
	c.visit, c.vs = &v, vs
	c.clearMessage()
	c.log.Info("visit resumed", "visit", v.ID, "step", max(1, flows.NextStep(v)))
	if v.Identify == nil {
		vs.Loading = true
		c.show(&IdentifyPage{})
		c.loadHistoryAsync(v.ID, v.CustomerKey, flows.VisitDay(v))
		return
	}
	// The recorded step 1 is the analysis the visit went on with.
	vs.Analysis = flows.Analysis{AsOf: v.Identify.AsOf, Classes: v.Identify.Adherence}
	vs.Offline = v.Identify.Offline
	vs.Q = vs.Content.Data.Questionnaires.For(vs.Analysis.PrimaryClass())
	if q := v.Questionnaire; q != nil {
		vs.Answers = map[string]string{}
		for k, a := range q.Answers {
			vs.Answers[k] = a
		}
	}
	switch {
	case v.Questionnaire == nil:
		c.show(newQuestionnairePage(vs))
	case v.Recommend == nil:
		c.recommend()
	default:
		vs.Recs = v.Recommend.Items
		c.show(&FollowUpPage{})
	}
}

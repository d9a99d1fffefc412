package counter

import (
	"errors"
	"net/url"
	"time"

	"github.com/pharmachain/counter/flows"
)

// IdentifyPage is step 1 (进店识别): the continuity analysis per chronic class. Enter
// records it (once the history is in) and opens step 2.
type IdentifyPage struct{ emptyPage }

// Screen implements Page.
func (*IdentifyPage) Screen() Screen { return ScreenIdentify }

func (*IdentifyPage) key(c *Core, k Key) bool {
	if !isEnter(k) {
		return false
	}
	if c.vs == nil || c.vs.Loading || c.visit == nil {
		return true
	}
	if c.visit.Identify == nil {
		if err := flows.RecordIdentify(c.visit, c.vs.Analysis, c.vs.Offline, c.now()); err != nil {
			c.sayRecordError(err)
			return true
		}
		c.saveVisit()
	}
	c.vs.Q = c.vs.Content.Data.Questionnaires.For(c.vs.Analysis.PrimaryClass())
	c.show(newQuestionnairePage(c.vs))
	return true
}

// QuestionnairePage is step 2 (需求挖掘): the mandatory questions of the customer's
// class, then the personalised follow-ups their answers open. A digit answers the
// current question; Enter records the step (follow-ups are optional); Backspace undoes
// the last answer, or goes back to step 1 when there is none.
type QuestionnairePage struct {
	order []string // question ids in the order they were answered (for Backspace)
}

// Screen implements Page.
func (*QuestionnairePage) Screen() Screen { return ScreenQuestionnaire }

func newQuestionnairePage(vs *VisitState) *QuestionnairePage {
	p := &QuestionnairePage{}
	for _, q := range vs.Q.Visible(vs.Answers) { // coming back from step 3, or resumed
		if _, ok := vs.Answers[q.ID]; ok {
			p.order = append(p.order, q.ID)
		}
	}
	return p
}

// Current is the first visible question without an answer.
func (vs VisitState) Current() (flows.Question, bool) {
	for _, q := range vs.Q.Visible(vs.Answers) {
		if _, ok := vs.Answers[q.ID]; !ok {
			return q, true
		}
	}
	return flows.Question{}, false
}

func (p *QuestionnairePage) rune(c *Core, r rune) bool {
	n := digit(r)
	if n == 0 {
		return false
	}
	q, ok := c.vs.Current()
	if !ok {
		return true
	}
	ch, ok := q.ChoiceByKey(n)
	if !ok {
		return true
	}
	c.vs.Answers[q.ID] = ch.ID
	p.order = append(p.order, q.ID)
	c.clearMessage()
	c.saveDraft()
	c.changed()
	return true
}

func (p *QuestionnairePage) key(c *Core, k Key) bool {
	switch {
	case isEnter(k):
		p.confirm(c)
	case k == KeyBackspace:
		if len(p.order) == 0 {
			c.clearMessage()
			c.show(&IdentifyPage{})
			return true
		}
		last := p.order[len(p.order)-1]
		p.order = p.order[:len(p.order)-1]
		delete(c.vs.Answers, last)
		c.vs.Answers = c.vs.Q.Prune(c.vs.Answers)
		c.saveDraft()
		c.changed()
	default:
		return false
	}
	return true
}

func (p *QuestionnairePage) confirm(c *Core) {
	err := flows.RecordAnswers(c.visit, c.vs.Q, c.vs.Answers, c.now())
	var miss *flows.MissingAnswersError
	if errors.As(err, &miss) {
		c.say(true, "q.missing", map[string]any{"IDs": miss.IDs})
		return
	}
	if err != nil {
		c.sayRecordError(err)
		return
	}
	c.saveVisit()
	c.recommend()
}

// recommend works out step 3's two recommendations and shows them.
func (c *Core) recommend() {
	a := c.vs.Analysis
	level := ""
	if w, ok := a.Worst(); ok {
		level = w.Level
	}
	recs, err := c.vs.Content.Data.Knowledge.Recommend(a.PrimaryClass(), level, c.visit.Questionnaire.Answers,
		reasonWords(a.PrimaryClass(), level))
	if err != nil {
		c.say(true, "msg.error", map[string]any{"Err": err.Error()})
		return
	}
	c.vs.Recs = recs
	c.clearMessage()
	c.show(&RecommendPage{})
}

// RecommendPage is step 3 (方案推荐): two non-prescription adjunct services or products
// with the reason for each. 1 and 2 toggle accepted/declined, Enter records, Backspace
// goes back to step 2 while step 2 is the latest recorded.
type RecommendPage struct{ emptyPage }

// Screen implements Page.
func (*RecommendPage) Screen() Screen { return ScreenRecommend }

func (*RecommendPage) rune(c *Core, r rune) bool {
	n := digit(r)
	if n != 1 && n != 2 {
		return false
	}
	if n <= len(c.vs.Recs) {
		c.vs.Accepted[n-1] = !c.vs.Accepted[n-1]
		c.saveDraft()
		c.changed()
	}
	return true
}

func (*RecommendPage) key(c *Core, k Key) bool {
	switch {
	case isEnter(k):
		items := make([]flows.Recommendation, len(c.vs.Recs))
		for i, it := range c.vs.Recs {
			acc := i < 2 && c.vs.Accepted[i]
			it.Accepted = &acc
			items[i] = it
		}
		if err := flows.RecordRecommendations(c.visit, items, c.now()); err != nil {
			c.sayRecordError(err)
			return true
		}
		c.saveVisit()
		c.clearMessage()
		c.show(&FollowUpPage{})
	case k == KeyBackspace:
		if flows.StepsDone(*c.visit) == flows.StepQuestionnaire { // step 2 is the latest: it may be redone
			c.clearMessage()
			c.show(newQuestionnairePage(c.vs))
		}
	default:
		return false
	}
	return true
}

// FollowUpChannels are step 4's consent options in key order (1 WeCom, 2 SMS).
func FollowUpChannels() []string { return []string{flows.ChannelWeCom, flows.ChannelSMS} }

// FollowUpPage is step 4 (效果追踪): the customer's consent per channel, a QR code to
// add the store's WeCom contact, and when the reminder will be sent. Enter records the
// step and completes the visit; without consent the step is recorded as declined.
type FollowUpPage struct{ emptyPage }

// Screen implements Page.
func (*FollowUpPage) Screen() Screen { return ScreenFollowUp }

func (*FollowUpPage) rune(c *Core, r rune) bool {
	chs := FollowUpChannels()
	n := digit(r)
	if n < 1 || n > len(chs) {
		return false
	}
	c.vs.Consent[chs[n-1]] = !c.vs.Consent[chs[n-1]]
	c.saveDraft()
	c.changed()
	return true
}

func (*FollowUpPage) key(c *Core, k Key) bool {
	switch {
	case isEnter(k):
		consent := map[string]bool{}
		for _, ch := range FollowUpChannels() {
			consent[ch] = c.vs.Consent[ch]
		}
		if err := flows.RecordFollowUp(c.visit, consent, c.FollowUpPolicy(), c.now()); err != nil {
			c.sayRecordError(err)
			return true
		}
		c.saveVisit()
		c.clearMessage()
		c.show(&SummaryPage{Visit: *c.visit})
	case k == KeyBackspace:
		if flows.StepsDone(*c.visit) == flows.StepRecommend {
			c.clearMessage()
			for i, it := range c.visit.Recommend.Items { // the answers recorded at step 3
				if i < 2 && it.Accepted != nil {
					c.vs.Accepted[i] = *it.Accepted
				}
			}
			c.show(&RecommendPage{})
		}
	default:
		return false
	}
	return true
}

// AnyConsent reports whether the customer agreed to a follow-up on any channel.
func (vs VisitState) AnyConsent() bool {
	for _, ch := range FollowUpChannels() {
		if vs.Consent[ch] {
			return true
		}
	}
	return false
}

// FollowUpPolicy is the follow-up policy for the open visit's consented channel: WeCom
// when the customer agreed to it, else SMS when agreed to that.
func (c *Core) FollowUpPolicy() flows.FollowUpPolicy {
	ct := c.content
	if c.vs != nil {
		ct = c.vs.Content
	}
	p := c.followUpPolicy(ct)
	if c.vs != nil && !c.vs.Consent[p.Channel] {
		for _, ch := range FollowUpChannels() {
			if c.vs.Consent[ch] {
				p.Channel = ch
				break
			}
		}
	}
	return p
}

// FollowUpDue is when the reminder would be sent if the visit were finished now.
func (c *Core) FollowUpDue() time.Time { return c.now().Add(c.FollowUpPolicy().Delay) }

// maxCustomerChannel is WeCom's limit on the customer_channel parameter of a
// customer-acquisition link (returned as State in the add-contact callback).
const maxCustomerChannel = 64

// FollowUpLink is the URL in step 4's QR code: the store's WeCom customer-acquisition
// link with the store id and customer_channel = the visit id. WeCom hands
// customer_channel back to HQ as State in its add-contact callback, and HQ binds the new
// WeCom contact to that visit's customer. The visit id is an opaque ULID: the link never
// carries a customer identifier (no customer key, no masked ID).
func (c *Core) FollowUpLink() string {
	base := c.cfg.FollowUpURL
	if base == "" {
		base = DefaultFollowUpURL
	}
	p, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := p.Query()
	q.Set("store", c.cfg.StoreID)
	if c.visit != nil && c.visit.ID != "" && len(c.visit.ID) <= maxCustomerChannel {
		q.Set("customer_channel", c.visit.ID)
	}
	p.RawQuery = q.Encode()
	return p.String()
}

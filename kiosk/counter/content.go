package counter

import (
	"errors"

	"github.com/pharmachain/counter/flows"
)

// Content is the content the counter runs on: questionnaires, knowledge base, catalog,
// points rules and messages (flows.Data, loaded from the embedded files or from a content
// pack), with the pack's version (0: the default embedded in the kiosk). A visit keeps
// the Content it started with and records its Version.
type Content struct {
	Version int
	Hash    string // the pack's content hash (content.Pack.Hash); reported to HQ
	Data    flows.Data
}

func (ct Content) check() error {
	if ct.Data.Knowledge == nil || ct.Data.Catalog == nil {
		return errors.New("counter: content without knowledge base or catalog")
	}
	return nil
}

// OfferContent offers another content (a pack HQ assigned to this store). It is taken
// into use at once when no visit is open, else when the open visit ends: a visit runs on
// one content from its scan to its end. It returns whether the content is in use now.
func (c *Core) OfferContent(ct Content) (bool, error) {
	if err := ct.check(); err != nil {
		return false, err
	}
	if c.visitOpen() {
		c.offered = &ct
		c.log.Info("content offered; in use after the open visit", "version", ct.Version)
		return false, nil
	}
	c.useContent(ct)
	return true, nil
}

// Content is the content new visits start with.
func (c *Core) Content() Content { return c.content }

func (c *Core) useContent(ct Content) {
	if ct.Version != c.content.Version {
		c.log.Info("content in use", "version", ct.Version, "was", c.content.Version)
	}
	c.content, c.offered = ct, nil
	c.changed()
	c.reportContent()
}

// visitEnded takes an offered content into use once no visit is open.
func (c *Core) visitEnded() {
	if c.offered != nil && !c.visitOpen() {
		c.useContent(*c.offered)
	}
}

// followUpPolicy is the policy with the content's reminder text.
func (c *Core) followUpPolicy(ct Content) flows.FollowUpPolicy {
	p := c.deps.FollowUp
	if ct.Data.Messages.Reminder != "" {
		p.Text = ct.Data.Messages.Reminder
	}
	return p
}

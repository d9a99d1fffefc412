package counter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hqclient"
	"github.com/pharmachain/counter/sync/wire"
)

// ContentHQ is an HQ that serves the store's content pack and takes the kiosk's content
// reports (sync/hqclient does).
type ContentHQ interface {
	// Content fetches the store's assigned pack; HQ answers NotModified when its entity
	// tag is one of notMatch.
	Content(ctx context.Context, notMatch ...string) (hqclient.ContentAnswer, error)
	// ReportContent tells HQ the version the kiosk runs and the pack it refuses.
	ReportContent(ctx context.Context, r wire.ContentStatusRequest) error
}

// ContentRefusal is a pack HQ assigned that the kiosk refused: its hash did not match
// (altered or cut in transit), it did not pass the strict loader, or HQ's answer was
// not a content document. The kiosk keeps the content it runs, says why on the banner
// (Why) and reports Reason to HQ.
type ContentRefusal struct {
	Version int
	Hash    string
	Why     Text   // for the banner
	Reason  string // for HQ (POST /api/v1/content/status)
	At      time.Time
}

// ContentState is what the banner and the tests see of the content sync.
type ContentState struct {
	Version int // in use: new visits start on it
	Next    int // offered while a visit was open: in use when it ends; -1 none
	Refused *ContentRefusal
	// Pulls counts the content pulls that finished (answered, refused or failed).
	Pulls int
	// Reported is the status HQ last took (nil: none yet in this run).
	Reported *wire.ContentStatusRequest
}

// contentSync is the core's side of the content pull.
type contentSync struct {
	embedded  Content // version 0: built into the kiosk
	etag      string  // HQ's tag of the pack in use or offered (If-None-Match)
	skip      string  // tag of a pack refused for its content: not fetched again
	refused   *ContentRefusal
	pulling   bool
	pulls     int
	reporting bool
	reported  *wire.ContentStatusRequest
}

// ContentState is the content sync's state now.
func (c *Core) ContentState() ContentState {
	s := ContentState{Version: c.content.Version, Next: -1, Refused: c.cs.refused, Pulls: c.cs.pulls, Reported: c.cs.reported}
	if c.offered != nil {
		s.Next = c.offered.Version
	}
	return s
}

// SyncHQ is one sync cycle with HQ in the background: the roster and points, then the
// store's content pack. New runs one at start and Tick every 30 s.
func (c *Core) SyncHQ() {
	c.pullRoster()
	c.pullContent()
}

// pulled is the outcome of one content pull, worked out off the core's goroutine.
type pulled struct {
	err      error    // HQ not reached, or it answered an error: nothing changes
	etag     string   // the answer's tag
	same     bool     // HQ assigns what the kiosk has (304, or the same pack)
	ct       *Content // a good pack to offer (kept already)
	refused  *ContentRefusal
	lasting  bool // refused for its content: the same tag will not be fetched again
	keptErrs error
}

// pullContent asks HQ for the store's pack in the background unless a pull runs. A
// new pack is checked (hash, then flows.ParseData), kept in the data directory and
// offered (in use at once, or when the open visit ends); a bad one is refused and the
// kiosk keeps what it runs. The outcome is reported to HQ when it changed.
func (c *Core) pullContent() {
	hq, ok := c.deps.HQ.(ContentHQ)
	if !ok || c.cs.pulling {
		return
	}
	c.cs.pulling = true
	have := c.content
	if c.offered != nil {
		have = *c.offered
	}
	tags := []string{c.cs.etag, c.cs.skip}
	dir, embedded, now := c.cfg.DataDir, c.cs.embedded, c.now()
	go func() {
		ans, err := hq.Content(c.ctx, tags...)
		var p pulled
		if err != nil {
			p.err = err
		} else {
			p = checkPulled(ans, have, embedded, dir, now)
		}
		c.post(func() { c.pulledContent(p) })
	}()
}

// checkPulled checks HQ's answer and keeps a good new pack.
func checkPulled(ans hqclient.ContentAnswer, have, embedded Content, dir string, now time.Time) pulled {
	p := pulled{etag: ans.ETag}
	if ans.NotModified {
		p.same = true
		return p
	}
	doc, err := ans.Doc()
	if err != nil {
		p.refused = &ContentRefusal{Why: Text{Key: "content.why_document", Args: map[string]any{"Err": err.Error()}},
			Reason: err.Error(), At: now}
		return p
	}
	if doc.Version == content.DefaultVersion { // the content built into the kiosk
		if have.Version == content.DefaultVersion {
			p.same = true
		} else {
			ct := embedded
			p.ct = &ct
		}
		p.keptErrs = dropKeptContent(dir)
		return p
	}
	if doc.Version == have.Version && doc.Hash == have.Hash {
		p.same = true
		return p
	}
	ct, err := contentOf(doc)
	if err != nil {
		r := &ContentRefusal{Version: doc.Version, Hash: doc.Hash, Reason: err.Error(), At: now}
		switch des := flows.DataErrors(err); {
		case errors.Is(err, content.ErrHashMismatch):
			r.Why = Text{Key: "content.why_hash"}
			r.Reason = "hash mismatch (altered or cut in transit): " + err.Error()
		case len(des) > 0 && !isDocError(err):
			r.Why = Text{Key: "content.why_invalid", Args: map[string]any{"Problem": des[0].Error()}}
			r.Reason = "validation failed: " + err.Error()
			p.lasting = true
		default:
			r.Why = Text{Key: "content.why_document", Args: map[string]any{"Err": err.Error()}}
		}
		p.refused = r
		return p
	}
	p.ct = &ct
	p.keptErrs = keepContent(dir, ans.ETag, doc, now)
	return p
}

// isDocError reports whether err is about the document rather than its files' content
// (content.Doc.Pack's checks: names, encoding, hash form).
func isDocError(err error) bool {
	var de *flows.DataError
	return errors.As(err, &de) && (de.Msg == "not a data file" || de.Msg == "not UTF-8 text")
}

// pulledContent applies a pull's outcome (core goroutine).
func (c *Core) pulledContent(p pulled) {
	c.cs.pulling = false
	c.cs.pulls++
	if p.err != nil {
		c.log.Info("content pull", "err", p.err)
		return
	}
	if p.keptErrs != nil {
		c.log.Error("content pack not kept: a restart runs the previous one until HQ is reached", "err", p.keptErrs)
	}
	switch {
	case p.refused != nil:
		if old := c.cs.refused; old == nil || old.Version != p.refused.Version || old.Hash != p.refused.Hash || old.Reason != p.refused.Reason {
			c.log.Warn("content pack refused: the kiosk keeps the content it runs", "version", p.refused.Version,
				"running", c.content.Version, "reason", p.refused.Reason)
			c.cs.refused = p.refused
			c.changed()
		}
		if p.lasting {
			c.cs.skip = p.etag
		}
	case p.ct != nil:
		c.cs.etag, c.cs.refused, c.cs.skip = p.etag, nil, ""
		c.log.Info("content pack received", "version", p.ct.Version, "hash", p.ct.Hash)
		if _, err := c.OfferContent(*p.ct); err != nil { // checked already: cannot happen
			c.log.Error("content pack not offered", "version", p.ct.Version, "err", err)
		}
		c.changed() // the banner shows the version waiting for the open visit to end
	case p.same:
		// HQ assigns what the kiosk runs (or the pack it refused for its content).
		if p.etag == "" || p.etag != c.cs.skip {
			c.cs.etag = p.etag
			if c.cs.refused != nil {
				c.cs.refused = nil
				c.changed()
			}
		}
	}
	c.reportContent()
}

// reportContent tells HQ the version in use and the refused pack, if that changed
// since HQ last took it (in the background; a failed report is sent again after the
// next pull).
func (c *Core) reportContent() {
	hq, ok := c.deps.HQ.(ContentHQ)
	if !ok || c.cs.reporting {
		return
	}
	req := wire.ContentStatusRequest{Version: c.content.Version, Hash: c.content.Hash}
	if r := c.cs.refused; r != nil {
		req.Refused = &wire.ContentRefusal{Version: r.Version, Hash: r.Hash, Reason: r.Reason, At: r.At.UTC()}
	}
	if sameStatus(c.cs.reported, req) {
		return
	}
	c.cs.reporting = true
	go func() {
		err := hq.ReportContent(c.ctx, req)
		c.post(func() {
			c.cs.reporting = false
			if err != nil {
				c.log.Info("content status report", "err", err)
				return
			}
			c.cs.reported = &req
			c.changed()
			c.reportContent() // the state may have moved on meanwhile
		})
	}()
}

func sameStatus(a *wire.ContentStatusRequest, b wire.ContentStatusRequest) bool {
	if a == nil || a.Version != b.Version || a.Hash != b.Hash || (a.Refused == nil) != (b.Refused == nil) {
		return false
	}
	return a.Refused == nil || *a.Refused == *b.Refused
}

// initContent sets the content sync up from deps (New).
func (c *Core) initContent() error {
	c.cs.embedded = c.deps.Embedded
	if c.cs.embedded.Data.Knowledge == nil && c.deps.Content.Version == content.DefaultVersion {
		c.cs.embedded = c.deps.Content
	}
	if c.deps.HQ != nil {
		if _, ok := c.deps.HQ.(ContentHQ); ok {
			if err := c.cs.embedded.check(); err != nil {
				return fmt.Errorf("counter: the built-in content (Deps.Embedded): %w", err)
			}
		}
	}
	c.cs.etag = c.deps.ContentTag
	return nil
}

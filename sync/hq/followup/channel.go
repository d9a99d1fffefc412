package followup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/wecom"
)

// Send outcomes a Channel reports.
const (
	SendOK     = "sent"   // the channel took the message
	SendRetry  = "retry"  // certainly not sent; try again later (45009, WeCom unreachable)
	SendFailed = "failed" // refused for good; Reason says why
)

// SendResult is a channel's answer.
type SendResult struct {
	Status string // SendOK, SendRetry or SendFailed
	// Code is a short reason code (wecom_unreachable, no_contact …) and Reason a message
	// that must not carry secrets; the dispatcher stores and shows both (scrubbed again).
	Code       string
	Reason     string        // why it was retried or failed
	RetryAfter time.Duration // with SendRetry: wait at least this long (0: the dispatcher's default)
	MsgID      string        // the channel's message id, if any
}

// Channel delivers one follow-up with its tracked link. A non-nil error means the
// outcome is unknown (the message may or may not have gone out): the dispatcher then
// marks the follow-up "unknown" and never resends it on its own. Channels return
// SendRetry only when the message certainly did not go out.
type Channel interface {
	Send(ctx context.Context, fu flows.FollowUp, link string) (SendResult, error)
}

// Mux routes a follow-up to the channel named by its Channel field; an unknown channel
// fails the follow-up with a clear reason.
type Mux map[string]Channel

// Send implements Channel.
func (m Mux) Send(ctx context.Context, fu flows.FollowUp, link string) (SendResult, error) {
	ch, ok := m[fu.Channel]
	if !ok {
		return SendResult{Status: SendFailed, Code: "no_channel", Reason: fmt.Sprintf("no sender configured for channel %q", fu.Channel)}, nil
	}
	return ch.Send(ctx, fu, link)
}

// NoChannel is a production HQ's channel when no real one (WeCom) is configured: nothing
// is sent. The dispatcher fails each due follow-up with CodeNoChannel before any attempt
// or link exists — it is never marked sent, no link is made, so no link points can be
// earned — and the overdue report shows it not_sent with that code.
type NoChannel struct{}

// Code and message of a follow-up HQ could not send for want of a channel.
const (
	CodeNoChannel   = "no_channel"
	ReasonNoChannel = "no channel: HQ has no WeCom configured (hq serve --wecom-corp-id, --wecom-secret-file); nothing was sent"
)

// Send implements Channel (the dispatcher never calls it).
func (NoChannel) Send(ctx context.Context, fu flows.FollowUp, link string) (SendResult, error) {
	return SendResult{Status: SendFailed, Code: CodeNoChannel, Reason: ReasonNoChannel}, nil
}

// LogChannel is the demo channel: it logs each follow-up and prints its link to Out so
// a person running `make run` can open it. It never fails.
type LogChannel struct {
	Logger *slog.Logger // default slog.Default()
	Out    io.Writer    // may be nil: log only
	mu     sync.Mutex
}

// Send implements Channel.
func (c *LogChannel) Send(ctx context.Context, fu flows.FollowUp, link string) (SendResult, error) {
	lg := c.Logger
	if lg == nil {
		lg = slog.Default()
	}
	level := slog.LevelInfo
	if c.Out != nil {
		level = slog.LevelDebug // the link is printed to Out just below: once is enough
	}
	lg.Log(ctx, level, "follow-up sent (log-only channel)", "followup", fu.ID, "store", fu.StoreID,
		"pharmacist", fu.PharmacistID, "link", link)
	if c.Out != nil {
		c.mu.Lock()
		fmt.Fprintf(c.Out, "follow-up %s (store %s, pharmacist %s): %s\n", fu.ID, fu.StoreID, fu.PharmacistID, link)
		c.mu.Unlock()
	}
	return SendResult{Status: SendOK, MsgID: "log-" + fu.ID}, nil
}

// ContactDirectory resolves the WeCom contact a customer bound (with consent) at a store.
// hq.ContactStore implements it.
type ContactDirectory interface {
	Contact(ctx context.Context, storeID, customerKey string) (hq.Contact, bool, error)
}

// WeComChannel sends follow-ups through WeCom customer contact (add_msg_template) with
// a link attachment pointing at the tracked URL.
type WeComChannel struct {
	Client    *wecom.Client
	Contacts  ContactDirectory
	Title     string        // link title; default "复诊预约与用药提醒"
	Desc      string        // link description; default "点击查看用药提醒并预约复诊"
	RateLimit time.Duration // wait after 45009; default 10 min
}

// Send implements Channel.
func (c *WeComChannel) Send(ctx context.Context, fu flows.FollowUp, link string) (SendResult, error) {
	ct, ok, err := c.Contacts.Contact(ctx, fu.StoreID, fu.CustomerKey)
	if err != nil {
		return SendResult{Status: SendRetry, Code: "contact_lookup", Reason: "contact lookup: " + err.Error()}, nil
	}
	if !ok {
		return SendResult{Status: SendFailed, Code: "no_contact", Reason: "customer has no WeCom contact binding at this store"}, nil
	}
	title, desc := c.Title, c.Desc
	if title == "" {
		title = "复诊预约与用药提醒"
	}
	if desc == "" {
		desc = "点击查看用药提醒并预约复诊"
	}
	msgID, err := c.Client.AddMsgTemplate(ctx, wecom.MsgTemplate{
		Sender: ct.Sender, ExternalUserID: ct.ExternalUserID, Text: fu.Text,
		Link: wecom.Link{Title: title, Desc: desc, URL: link},
	})
	if err == nil {
		return SendResult{Status: SendOK, MsgID: msgID}, nil
	}
	var ae *wecom.APIError
	switch {
	case wecom.IsRateLimited(err):
		wait := c.RateLimit
		if wait <= 0 {
			wait = 10 * time.Minute
		}
		return SendResult{Status: SendRetry, Code: wecom.ReasonCode(err), Reason: err.Error(), RetryAfter: wait}, nil
	case errors.Is(err, wecom.ErrToken), errors.Is(err, wecom.ErrNotDelivered):
		return SendResult{Status: SendRetry, Code: wecom.ReasonCode(err), Reason: err.Error()}, nil
	case errors.As(err, &ae):
		return SendResult{Status: SendFailed, Code: wecom.ReasonCode(err), Reason: err.Error()}, nil
	}
	return SendResult{}, err // ambiguous: may have been delivered (the wecom error is already redacted)
}

package flows

import (
	"strings"
	"time"
)

// Limits of the follow-up message texts (WeCom's add_msg_template limits, in bytes).
const (
	MaxReminderBytes  = 4000
	MaxLinkTitleBytes = 128
	MaxLinkDescBytes  = 512
)

// FollowUpMessages are the texts of a follow-up (messages/followup.json): the reminder
// the customer receives and the link card that carries the tracked booking link.
type FollowUpMessages struct {
	// Reminder is a text/template executed with FollowUpData, e.g.
	// 您好，感谢您昨天到店咨询{{.ClassName}}用药。…
	Reminder  string `json:"reminder"`
	LinkTitle string `json:"link_title"` // title of the link card
	LinkDesc  string `json:"link_desc"`  // one line under the title
}

// LoadFollowUpMessages parses and checks messages/followup.json (strict JSON). Every
// text is required; the reminder must be a template that renders with FollowUpData
// (only its fields, the join function) within MaxReminderBytes for accepted items
// titled like sampleTitles (the knowledge base's titles; nil: two placeholder titles);
// the link title and description must fit WeCom's limits. Errors are *DataError.
func LoadFollowUpMessages(data []byte, sampleTitles []string) (FollowUpMessages, error) {
	var m FollowUpMessages
	if err := decodeStrict(data, &m); err != nil {
		return FollowUpMessages{}, err
	}
	if err := m.check(sampleTitles); err != nil {
		return FollowUpMessages{}, err
	}
	return m, nil
}

func (m FollowUpMessages) check(sampleTitles []string) error {
	for _, f := range []struct{ name, v string }{{"reminder", m.Reminder}, {"link_title", m.LinkTitle}, {"link_desc", m.LinkDesc}} {
		if strings.TrimSpace(f.v) == "" {
			return fieldErr(f.name, "", "is empty")
		}
	}
	if len(m.LinkTitle) > MaxLinkTitleBytes {
		return fieldErr("link_title", "", "is %d bytes, at most %d (about %d Chinese characters)", len(m.LinkTitle), MaxLinkTitleBytes, MaxLinkTitleBytes/3)
	}
	if len(m.LinkDesc) > MaxLinkDescBytes {
		return fieldErr("link_desc", "", "is %d bytes, at most %d (about %d Chinese characters)", len(m.LinkDesc), MaxLinkDescBytes, MaxLinkDescBytes/3)
	}
	tmpl, err := ParseFollowUpText(m.Reminder)
	if err != nil {
		return fieldErr("reminder", "", "%s", strings.TrimPrefix(err.Error(), "follow-up text template: "))
	}
	if len(sampleTitles) == 0 {
		sampleTitles = []string{"Service one", "Service two"}
	}
	longest := ""
	for _, cls := range append(Classes(), ClassGeneral) {
		for _, acc := range [][]string{nil, sampleTitles} {
			data := FollowUpData{VisitID: "01J0000000000000000000000V", StoreID: "S001", Class: cls, ClassName: cls,
				Accepted: acc, DueAt: time.Date(2025, 1, 2, 10, 0, 0, 0, Shanghai())}
			var b strings.Builder
			if err := tmpl.Execute(&b, data); err != nil {
				return fieldErr("reminder", "", "%s (the template may use .VisitID, .StoreID, .Class, .ClassName, .Accepted, .DueAt and join)",
					strings.TrimPrefix(err.Error(), "template: followup:"))
			}
			if strings.TrimSpace(b.String()) == "" {
				return fieldErr("reminder", "", "renders as an empty text")
			}
			if b.Len() > len(longest) {
				longest = b.String()
			}
		}
	}
	if len(longest) > MaxReminderBytes {
		return fieldErr("reminder", "", "renders to %d bytes, at most %d", len(longest), MaxReminderBytes)
	}
	return nil
}

package counter

import (
	"errors"
	"fmt"

	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
)

// sayRecordError says why a step could not be recorded: the step order (with the steps'
// names) and an ended visit by key; any other error with its own text.
func (c *Core) sayRecordError(err error) {
	var so *flows.StepOrderError
	switch {
	case errors.As(err, &so):
		c.say(true, "error.step_order", map[string]any{"Step": Text{Key: fmt.Sprintf("step.%d", so.Step)},
			"Next": Text{Key: fmt.Sprintf("step.%d", so.Next)}})
	case errors.Is(err, flows.ErrVisitEnded):
		c.say(true, "error.visit_ended", nil)
	default:
		c.say(true, "msg.error", map[string]any{"Err": err.Error()})
	}
}

// reasonWords are the words for the knowledge base's {class} and {level}: a
// recommendation records its reason in Chinese and English whatever the counter's
// language, so both translation files say them. Without the files (they are embedded:
// cannot happen) the codes stand.
func reasonWords(class, level string) flows.ReasonWords {
	zh, en, err := i18n.Both()
	if err != nil {
		return flows.ReasonWords{}
	}
	return i18n.ReasonWords(zh.L, en.L, class, level)
}

// withClassNames gives a follow-up policy the reminder's words for the classes (Chinese:
// the customer reads it), unless it has its own.
func withClassNames(p flows.FollowUpPolicy) flows.FollowUpPolicy {
	if p.ClassNames != nil {
		return p
	}
	if zh, err := i18n.Load(i18n.ZhHans); err == nil {
		p.ClassNames = i18n.FollowUpClassNames(zh.L)
	}
	return p
}

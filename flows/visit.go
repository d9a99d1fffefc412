package flows

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// ErrVisitEnded is returned when a step is recorded on a complete or abandoned visit.
const ErrVisitEnded = sentinel("visit has ended")

// StepOrderError is returned when a step is recorded out of order.
type StepOrderError struct {
	Step int // the step the caller tried to record
	Next int // the step that must be recorded next
}

// Error names the step tried and the step that must come first (for logs; the counter
// says it with the steps' names from its translations).
func (e *StepOrderError) Error() string {
	return fmt.Sprintf("step %d cannot be recorded yet: step %d comes first", e.Step, e.Next)
}

// NewVisit starts a visit (outcome in_progress). id should be a ULID.
func NewVisit(id, store, pharmacist string, c Customer, now time.Time) Visit {
	return Visit{
		ID:             id,
		StoreID:        store,
		PharmacistID:   pharmacist,
		CustomerKey:    c.Key,
		CustomerMasked: c.Masked,
		StartedAt:      now,
		UpdatedAt:      now,
		Outcome:        OutcomeInProgress,
	}
}

// StepsDone is the number of consecutive steps done from step 1 (0–4).
func StepsDone(v Visit) int {
	switch {
	case v.Identify == nil:
		return 0
	case v.Questionnaire == nil:
		return 1
	case v.Recommend == nil:
		return 2
	case v.FollowUp == nil:
		return 3
	}
	return 4
}

// NextStep is the step to record next (1–4), or 0 when the visit has ended (complete
// or abandoned).
func NextStep(v Visit) int {
	if v.Outcome == OutcomeComplete || v.Outcome == OutcomeAbandoned {
		return 0
	}
	n := StepsDone(v)
	if n >= 4 {
		return 0
	}
	return n + 1
}

// canRecord allows step n when it is the next step, or when it is the latest step done
// and the visit is still open (the pharmacist corrects what was just entered).
func canRecord(v *Visit, step int) error {
	if v == nil {
		return errors.New("visit is nil")
	}
	if v.Outcome == OutcomeComplete || v.Outcome == OutcomeAbandoned {
		return fmt.Errorf("visit %s: step %d: %w (%s)", v.ID, step, ErrVisitEnded, v.Outcome)
	}
	done := StepsDone(*v)
	if step == done+1 || step == done {
		return nil
	}
	if step > done {
		return fmt.Errorf("visit %s: %w", v.ID, &StepOrderError{Step: step, Next: done + 1})
	}
	return fmt.Errorf("visit %s: step %d is already done and step %d follows it", v.ID, step, step+1)
}

// RecordIdentify records step 1 with the analysis shown. offline says the history came
// from this store's local data only.
func RecordIdentify(v *Visit, a Analysis, offline bool, now time.Time) error {
	if err := canRecord(v, StepIdentify); err != nil {
		return err
	}
	classes := append([]ClassResult(nil), a.Classes...)
	if classes == nil {
		classes = []ClassResult{}
	}
	v.Identify = &IdentifyStep{At: now, AsOf: a.AsOf, Offline: offline, Adherence: classes}
	v.UpdatedAt = now
	return nil
}

// RecordAnswers records step 2. It refuses (with a *MissingAnswersError naming them)
// while a mandatory question is unanswered; answers to hidden follow-ups are dropped.
func RecordAnswers(v *Visit, q Questionnaire, answers map[string]string, now time.Time) error {
	if err := canRecord(v, StepQuestionnaire); err != nil {
		return err
	}
	if err := q.Validate(answers); err != nil {
		return fmt.Errorf("visit %s: %w", v.ID, err)
	}
	v.Questionnaire = &QuestionnaireStep{At: now, Class: q.Class, Answers: q.Prune(answers)}
	v.UpdatedAt = now
	return nil
}

// RecordRecommendations records step 3: exactly two distinct items, each with
// Accepted set (accepted or declined).
func RecordRecommendations(v *Visit, items []Recommendation, now time.Time) error {
	if err := canRecord(v, StepRecommend); err != nil {
		return err
	}
	if len(items) != RecommendationsPerVisit {
		return fmt.Errorf("visit %s: %d recommendations, want exactly %d", v.ID, len(items), RecommendationsPerVisit)
	}
	if items[0].ID == items[1].ID {
		return fmt.Errorf("visit %s: the two recommendations are the same item %q", v.ID, items[0].ID)
	}
	out := make([]Recommendation, len(items))
	for i, it := range items {
		if it.ID == "" {
			return fmt.Errorf("visit %s: recommendation %d has no id", v.ID, i+1)
		}
		if it.Accepted == nil {
			return fmt.Errorf("visit %s: recommendation %q: accepted/declined not recorded", v.ID, it.ID)
		}
		acc := *it.Accepted
		it.Accepted = &acc
		out[i] = it
	}
	v.Recommend = &RecommendStep{At: now, Items: out}
	v.UpdatedAt = now
	return nil
}

// FollowUpPolicy configures step 4.
type FollowUpPolicy struct {
	Delay   time.Duration // after the visit ends; default 24 h
	Channel string        // ChannelWeCom (default) or ChannelSMS
	// Text is a text/template for the reminder, executed with FollowUpData: the
	// reminder of the messages file (messages/followup.json, FollowUpMessages). Needed
	// to schedule a follow-up.
	Text string
	// ClassNames are the words the reminder uses for each class (FollowUpData.ClassName),
	// by class code; ClassGeneral's serves a visit without a chronic class. A class
	// without a word is named by its code.
	ClassNames map[string]string
}

// DefaultFollowUpPolicy is 24 h and WeCom; the reminder text comes from the messages
// file (set Text).
func DefaultFollowUpPolicy() FollowUpPolicy {
	return FollowUpPolicy{Delay: DefaultFollowUpDelay, Channel: ChannelWeCom}
}

// FollowUpData is what the reminder template sees. It holds no personal data.
type FollowUpData struct {
	VisitID   string
	StoreID   string
	Class     string
	ClassName string   // the word for the class (FollowUpPolicy.ClassNames), e.g. 高血压
	Accepted  []string // titles of the accepted recommendations
	DueAt     time.Time
}

// ParseFollowUpText checks a reminder template.
func ParseFollowUpText(text string) (*template.Template, error) {
	t, err := template.New("followup").Option("missingkey=error").
		Funcs(template.FuncMap{"join": strings.Join}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("follow-up text template: %w", err)
	}
	return t, nil
}

// RecordFollowUp records step 4 and completes the visit (EndedAt = now). With consent
// for the policy's channel it schedules a follow-up at now + Delay with the rendered
// reminder text; without it the step is Declined: done, nothing scheduled.
func RecordFollowUp(v *Visit, consent map[string]bool, policy FollowUpPolicy, now time.Time) error {
	if err := canRecord(v, StepFollowUp); err != nil {
		return err
	}
	if policy.Delay <= 0 {
		policy.Delay = DefaultFollowUpDelay
	}
	if policy.Channel == "" {
		policy.Channel = ChannelWeCom
	}
	cons := make(map[string]bool, len(consent))
	for k, b := range consent {
		cons[k] = b
	}
	step := &FollowUpStep{At: now, Consent: cons}
	if cons[policy.Channel] {
		if strings.TrimSpace(policy.Text) == "" {
			return fmt.Errorf("visit %s: no reminder text (FollowUpPolicy.Text, from messages/followup.json)", v.ID)
		}
		tmpl, err := ParseFollowUpText(policy.Text)
		if err != nil {
			return fmt.Errorf("visit %s: %w", v.ID, err)
		}
		data := FollowUpData{VisitID: v.ID, StoreID: v.StoreID, DueAt: now.Add(policy.Delay)}
		named := ClassGeneral
		if v.Questionnaire != nil && v.Questionnaire.Class != "" {
			data.Class, named = v.Questionnaire.Class, v.Questionnaire.Class
		}
		data.ClassName = or(policy.ClassNames[named], named)
		for _, it := range v.Recommend.Items {
			if it.Accepted != nil && *it.Accepted {
				data.Accepted = append(data.Accepted, it.Title)
			}
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, data); err != nil {
			return fmt.Errorf("visit %s: follow-up text: %w", v.ID, err)
		}
		step.FollowUp = &FollowUp{
			ID:           v.ID + "-f1",
			VisitID:      v.ID,
			StoreID:      v.StoreID,
			PharmacistID: v.PharmacistID,
			CustomerKey:  v.CustomerKey,
			Channel:      policy.Channel,
			DueAt:        data.DueAt,
			Text:         b.String(),
			Consent:      true,
		}
	} else {
		step.Declined = true
	}
	v.FollowUp = step
	v.EndedAt = now
	v.UpdatedAt = now
	v.Outcome = OutcomeComplete
	return nil
}

// Abandon ends an open visit as abandoned ("new_customer", "idle", "pharmacist", …).
// The steps done so far are kept (they feed the stalled-at-step metrics).
func Abandon(v *Visit, reason string, now time.Time) error {
	if v == nil {
		return errors.New("visit is nil")
	}
	if v.Outcome == OutcomeComplete || v.Outcome == OutcomeAbandoned {
		return fmt.Errorf("visit %s: abandon: %w (%s)", v.ID, ErrVisitEnded, v.Outcome)
	}
	v.Outcome = OutcomeAbandoned
	v.AbandonReason = reason
	v.EndedAt = now
	v.UpdatedAt = now
	return nil
}

// Complete reports whether all four steps are done.
func Complete(v Visit) bool { return StepsDone(v) == 4 && v.Outcome == OutcomeComplete }

// StepTimes returns when each step 1–4 was done (zero if not).
func StepTimes(v Visit) [4]time.Time {
	var t [4]time.Time
	if v.Identify != nil {
		t[0] = v.Identify.At
	}
	if v.Questionnaire != nil {
		t[1] = v.Questionnaire.At
	}
	if v.Recommend != nil {
		t[2] = v.Recommend.At
	}
	if v.FollowUp != nil {
		t[3] = v.FollowUp.At
	}
	return t
}

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }

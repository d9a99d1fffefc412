package flows

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Questionnaire limits enforced by ParseQuestionnaire.
const (
	MandatoryQuestions = 3  // exactly three mandatory base questions per class
	MaxChoices         = 9  // keys 1–9 select a choice
	MaxQuestions       = 16 // keeps the exhaustive knowledge-base walk bounded
)

// Questionnaire is the step-2 (需求挖掘) question set for one class. Every answer is a
// fixed choice; no free text is ever required. Questions without show_if are always
// visible; the three mandatory base questions must come first and have no show_if.
// Follow-up questions (mandatory false) are shown only when show_if matches and are
// optional: the pharmacist may leave them unanswered (see docs/domain.md).
type Questionnaire struct {
	Class     string     `json:"class"` // hypertension | diabetes | hyperlipidemia | general
	Version   int        `json:"version"`
	Title     string     `json:"title"`
	TitleEn   string     `json:"title_en"`
	Questions []Question `json:"questions"`
}

// Question is one multiple-choice question.
type Question struct {
	ID        string `json:"id"`
	Text      string `json:"text"`    // Chinese
	TextEn    string `json:"text_en"` // English
	Mandatory bool   `json:"mandatory,omitempty"`
	// ShowIf: the question is visible only if, for every listed question, that question
	// is visible and its answer is one of the listed choice ids. References must point
	// to earlier questions.
	ShowIf  map[string][]string `json:"show_if,omitempty"`
	Choices []Choice            `json:"choices"`
}

// Choice is one fixed answer.
type Choice struct {
	ID      string `json:"id"`
	Label   string `json:"label"`    // Chinese
	LabelEn string `json:"label_en"` // English
}

// LabelFor returns the label for a UI locale ("en…" → English, anything else Chinese).
func (c Choice) LabelFor(locale string) string {
	if strings.HasPrefix(strings.ToLower(locale), "en") && c.LabelEn != "" {
		return c.LabelEn
	}
	return c.Label
}

// TextFor returns the question text for a UI locale.
func (q Question) TextFor(locale string) string {
	if strings.HasPrefix(strings.ToLower(locale), "en") && q.TextEn != "" {
		return q.TextEn
	}
	return q.Text
}

// Choice returns the choice with the given id.
func (q Question) Choice(id string) (Choice, bool) {
	for _, c := range q.Choices {
		if c.ID == id {
			return c, true
		}
	}
	return Choice{}, false
}

// ChoiceByKey maps a key press 1–9 to a choice (key 1 is the first choice).
func (q Question) ChoiceByKey(key int) (Choice, bool) {
	if key < 1 || key > len(q.Choices) {
		return Choice{}, false
	}
	return q.Choices[key-1], true
}

// ParseQuestionnaire decodes and strictly validates one questionnaire (JSON). Unknown
// fields and duplicate keys are rejected, so a typo in a chain's file is caught. Errors
// are *DataError naming the field.
func ParseQuestionnaire(data []byte) (Questionnaire, error) {
	var q Questionnaire
	if err := decodeStrict(data, &q); err != nil {
		return Questionnaire{}, err
	}
	if err := q.check(); err != nil {
		return Questionnaire{}, err
	}
	return q, nil
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (q Questionnaire) check() error {
	switch q.Class {
	case ClassHypertension, ClassDiabetes, ClassHyperlipidemia, ClassGeneral:
	case "":
		return fieldErr("class", "", "is empty")
	default:
		return fieldErr("class", "", "unknown class %q (want hypertension, diabetes, hyperlipidemia or general)", q.Class)
	}
	if strings.TrimSpace(q.Title) == "" {
		return fieldErr("title", "", "is empty")
	}
	if strings.TrimSpace(q.TitleEn) == "" {
		return fieldErr("title_en", "", "is empty")
	}
	if len(q.Questions) > MaxQuestions {
		return fieldErr("questions", "", "%d questions, at most %d allowed", len(q.Questions), MaxQuestions)
	}
	pos := make(map[string]int, len(q.Questions))
	mandatory := 0
	for i, qu := range q.Questions {
		f := index("questions", i)
		ent := fmt.Sprintf("question %q", qu.ID)
		if !validID(qu.ID) {
			return fieldErr(f+".id", ent, "must be 1–64 of [a-z0-9_-]")
		}
		if _, dup := pos[qu.ID]; dup {
			return fieldErr(f+".id", ent, "duplicate question id")
		}
		if strings.TrimSpace(qu.Text) == "" {
			return fieldErr(f+".text", ent, "is empty")
		}
		if strings.TrimSpace(qu.TextEn) == "" {
			return fieldErr(f+".text_en", ent, "is empty")
		}
		if qu.Mandatory {
			mandatory++
			if len(qu.ShowIf) > 0 {
				return fieldErr(f+".show_if", ent, "a mandatory question cannot have show_if")
			}
			if mandatory != i+1 {
				return fieldErr(f+".mandatory", ent, "mandatory questions must come first")
			}
		} else if len(qu.ShowIf) == 0 {
			return fieldErr(f+".show_if", ent, "a follow-up question needs show_if (or mark it mandatory)")
		}
		if len(qu.Choices) < 2 || len(qu.Choices) > MaxChoices {
			return fieldErr(f+".choices", ent, "has %d entries, want 2–%d", len(qu.Choices), MaxChoices)
		}
		cids := make(map[string]bool, len(qu.Choices))
		for j, c := range qu.Choices {
			cf := index(f+".choices", j)
			if !validID(c.ID) {
				return fieldErr(cf+".id", ent, "choice id %q must be 1–64 of [a-z0-9_-]", c.ID)
			}
			if cids[c.ID] {
				return fieldErr(cf+".id", ent, "duplicate choice id %q", c.ID)
			}
			cids[c.ID] = true
			if strings.TrimSpace(c.Label) == "" {
				return fieldErr(cf+".label", ent, "is empty")
			}
			if strings.TrimSpace(c.LabelEn) == "" {
				return fieldErr(cf+".label_en", ent, "is empty")
			}
		}
		for _, ref := range sortedKeys(qu.ShowIf) {
			sf := joinPath(f+".show_if", ref)
			k, ok := pos[ref]
			if !ok {
				return fieldErr(sf, ent, "show_if refers to %q, which is not an earlier question", ref)
			}
			ids := qu.ShowIf[ref]
			if len(ids) == 0 {
				return fieldErr(sf, ent, "show_if[%q] lists no choices", ref)
			}
			for _, id := range ids {
				if _, ok := q.Questions[k].Choice(id); !ok {
					return fieldErr(sf, ent, "show_if[%q] names choice %q, which question %q does not have", ref, id, ref)
				}
			}
		}
		pos[qu.ID] = i
	}
	if mandatory != MandatoryQuestions {
		return fieldErr("questions", "", "%d mandatory questions, want exactly %d", mandatory, MandatoryQuestions)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Question returns the question with the given id.
func (q Questionnaire) Question(id string) (Question, bool) {
	for _, qu := range q.Questions {
		if qu.ID == id {
			return qu, true
		}
	}
	return Question{}, false
}

// Visible returns the questions to show for the answers so far, in order.
func (q Questionnaire) Visible(answers map[string]string) []Question {
	vis := make(map[string]bool, len(q.Questions))
	out := make([]Question, 0, len(q.Questions))
	for _, qu := range q.Questions {
		if q.shown(qu, answers, vis) {
			vis[qu.ID] = true
			out = append(out, qu)
		}
	}
	return out
}

func (q Questionnaire) shown(qu Question, answers map[string]string, vis map[string]bool) bool {
	for ref, ids := range qu.ShowIf {
		if !vis[ref] {
			return false
		}
		a, ok := answers[ref]
		if !ok {
			return false
		}
		match := false
		for _, id := range ids {
			if id == a {
				match = true
				break
			}
		}
		if !match {
			return false
		}
	}
	return true
}

// Missing lists, in question order, the mandatory questions not (validly) answered.
// Follow-up questions are optional and never listed.
func (q Questionnaire) Missing(answers map[string]string) []string {
	var out []string
	for _, qu := range q.Questions {
		if !qu.Mandatory {
			continue
		}
		if _, ok := qu.Choice(answers[qu.ID]); !ok {
			out = append(out, qu.ID)
		}
	}
	return out
}

// Prune returns a copy of answers holding only answers to visible questions (an answer
// to a follow-up that a changed base answer has hidden again is dropped).
func (q Questionnaire) Prune(answers map[string]string) map[string]string {
	out := make(map[string]string, len(answers))
	for _, qu := range q.Visible(answers) {
		if a, ok := answers[qu.ID]; ok {
			out[qu.ID] = a
		}
	}
	return out
}

// MissingAnswersError says which mandatory questions are unanswered.
type MissingAnswersError struct {
	Class string
	IDs   []string // question ids, in order
	Texts []string // their Chinese texts, parallel to IDs
}

// Error lists the missing question ids with their texts.
func (e *MissingAnswersError) Error() string {
	parts := make([]string, len(e.IDs))
	for i, id := range e.IDs {
		parts[i] = fmt.Sprintf("%s (%s)", id, e.Texts[i])
	}
	return fmt.Sprintf("questionnaire %q: mandatory questions not answered: %s", e.Class, strings.Join(parts, ", "))
}

// Validate checks answers: every answered question must exist and its answer must be
// one of its choices, and the mandatory questions must all be answered (a
// *MissingAnswersError names them). Answers to hidden follow-ups are ignored.
func (q Questionnaire) Validate(answers map[string]string) error {
	for _, id := range sortedKeys(answers) {
		qu, ok := q.Question(id)
		if !ok {
			return fmt.Errorf("questionnaire %q: answer to unknown question %q", q.Class, id)
		}
		if _, ok := qu.Choice(answers[id]); !ok {
			return fmt.Errorf("questionnaire %q: question %q: %q is not one of its choices", q.Class, id, answers[id])
		}
	}
	if miss := q.Missing(answers); len(miss) > 0 {
		e := &MissingAnswersError{Class: q.Class, IDs: miss}
		for _, id := range miss {
			qu, _ := q.Question(id)
			e.Texts = append(e.Texts, qu.Text)
		}
		return e
	}
	return nil
}

// QuestionnaireSet holds one questionnaire per class, including ClassGeneral.
type QuestionnaireSet struct {
	byClass map[string]Questionnaire
}

// NewQuestionnaireSet builds a set; it needs a general questionnaire and at most one
// questionnaire per class. Each questionnaire is validated.
func NewQuestionnaireSet(qs ...Questionnaire) (QuestionnaireSet, error) {
	s := QuestionnaireSet{byClass: make(map[string]Questionnaire, len(qs))}
	for _, q := range qs {
		if err := q.check(); err != nil {
			return QuestionnaireSet{}, err
		}
		if _, dup := s.byClass[q.Class]; dup {
			return QuestionnaireSet{}, fmt.Errorf("questionnaires: two questionnaires for class %q", q.Class)
		}
		s.byClass[q.Class] = q
	}
	if _, ok := s.byClass[ClassGeneral]; !ok {
		return QuestionnaireSet{}, errors.New("questionnaires: no general questionnaire (class \"general\")")
	}
	return s, nil
}

// For returns the questionnaire of a class, or the general one when the class has none
// (including "" and ClassGeneral).
func (s QuestionnaireSet) For(class string) Questionnaire {
	if q, ok := s.byClass[class]; ok {
		return q
	}
	return s.byClass[ClassGeneral]
}

// Has reports whether the set has a questionnaire of its own for class.
func (s QuestionnaireSet) Has(class string) bool {
	_, ok := s.byClass[class]
	return ok
}

// All returns every questionnaire, sorted by class.
func (s QuestionnaireSet) All() []Questionnaire {
	out := make([]Questionnaire, 0, len(s.byClass))
	for _, k := range sortedKeys(s.byClass) {
		out = append(out, s.byClass[k])
	}
	return out
}

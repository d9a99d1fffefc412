package flows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
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
// fields are rejected, so a typo in a chain's override file is caught.
func ParseQuestionnaire(data []byte) (Questionnaire, error) {
	var q Questionnaire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return Questionnaire{}, fmt.Errorf("questionnaire: %w", err)
	}
	if dec.More() {
		return Questionnaire{}, errors.New("questionnaire: trailing data after the JSON object")
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
	where := fmt.Sprintf("questionnaire %q", q.Class)
	switch q.Class {
	case ClassHypertension, ClassDiabetes, ClassHyperlipidemia, ClassGeneral:
	case "":
		return errors.New("questionnaire: field class is empty")
	default:
		return fmt.Errorf("%s: field class: unknown class (want hypertension, diabetes, hyperlipidemia or general)", where)
	}
	if strings.TrimSpace(q.Title) == "" || strings.TrimSpace(q.TitleEn) == "" {
		return fmt.Errorf("%s: fields title and title_en are required", where)
	}
	if len(q.Questions) > MaxQuestions {
		return fmt.Errorf("%s: %d questions, at most %d allowed", where, len(q.Questions), MaxQuestions)
	}
	pos := make(map[string]int, len(q.Questions))
	mandatory := 0
	for i, qu := range q.Questions {
		qw := fmt.Sprintf("%s: questions[%d] (id %q)", where, i, qu.ID)
		if !validID(qu.ID) {
			return fmt.Errorf("%s: field id must be 1–64 of [a-z0-9_-]", qw)
		}
		if _, dup := pos[qu.ID]; dup {
			return fmt.Errorf("%s: duplicate question id", qw)
		}
		if strings.TrimSpace(qu.Text) == "" || strings.TrimSpace(qu.TextEn) == "" {
			return fmt.Errorf("%s: fields text and text_en are required", qw)
		}
		if qu.Mandatory {
			mandatory++
			if len(qu.ShowIf) > 0 {
				return fmt.Errorf("%s: a mandatory question cannot have show_if", qw)
			}
			if mandatory != i+1 {
				return fmt.Errorf("%s: mandatory questions must come first", qw)
			}
		} else if len(qu.ShowIf) == 0 {
			return fmt.Errorf("%s: a follow-up question needs show_if", qw)
		}
		if len(qu.Choices) < 2 || len(qu.Choices) > MaxChoices {
			return fmt.Errorf("%s: field choices has %d entries, want 2–%d", qw, len(qu.Choices), MaxChoices)
		}
		cids := make(map[string]bool, len(qu.Choices))
		for j, c := range qu.Choices {
			cw := fmt.Sprintf("%s: choices[%d] (id %q)", qw, j, c.ID)
			if !validID(c.ID) {
				return fmt.Errorf("%s: field id must be 1–64 of [a-z0-9_-]", cw)
			}
			if cids[c.ID] {
				return fmt.Errorf("%s: duplicate choice id", cw)
			}
			cids[c.ID] = true
			if strings.TrimSpace(c.Label) == "" || strings.TrimSpace(c.LabelEn) == "" {
				return fmt.Errorf("%s: fields label and label_en are required", cw)
			}
		}
		for _, ref := range sortedKeys(qu.ShowIf) {
			k, ok := pos[ref]
			if !ok {
				return fmt.Errorf("%s: show_if refers to %q, which is not an earlier question", qw, ref)
			}
			ids := qu.ShowIf[ref]
			if len(ids) == 0 {
				return fmt.Errorf("%s: show_if[%q] lists no choices", qw, ref)
			}
			for _, id := range ids {
				if _, ok := q.Questions[k].Choice(id); !ok {
					return fmt.Errorf("%s: show_if[%q] names choice %q, which question %q does not have", qw, ref, id, ref)
				}
			}
		}
		pos[qu.ID] = i
	}
	if mandatory != MandatoryQuestions {
		return fmt.Errorf("%s: %d mandatory questions, want exactly %d", where, mandatory, MandatoryQuestions)
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

// LoadQuestionnaires reads every *.json file in dir of fsys (e.g. assets.FS(),
// "questionnaires", or os.DirFS(overrideDir), "."). Errors name the file.
func LoadQuestionnaires(fsys fs.FS, dir string) (QuestionnaireSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return QuestionnaireSet{}, fmt.Errorf("questionnaires: %w", err)
	}
	var qs []Questionnaire
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		name := path.Join(dir, e.Name())
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return QuestionnaireSet{}, fmt.Errorf("questionnaires: %w", err)
		}
		q, err := ParseQuestionnaire(data)
		if err != nil {
			return QuestionnaireSet{}, fmt.Errorf("%s: %w", name, err)
		}
		if other, dup := seen[q.Class]; dup {
			return QuestionnaireSet{}, fmt.Errorf("%s: class %q already defined by %s", name, q.Class, other)
		}
		seen[q.Class] = name
		qs = append(qs, q)
	}
	s, err := NewQuestionnaireSet(qs...)
	if err != nil {
		return QuestionnaireSet{}, fmt.Errorf("%s: %w", dir, err)
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

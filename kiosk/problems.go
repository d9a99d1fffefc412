package kiosk

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/kiosk/counter"
)

// note says a core Text in the UI's language, the missing answers of step 2 (question
// ids) as the questions' texts.
func (u *UI) note(t counter.Text) string {
	if ids, ok := t.Args["IDs"].([]string); ok && t.Key == "q.missing" {
		args := map[string]any{"List": u.questionTexts(ids)}
		return lang.L(t.Key, args)
	}
	return noteText(t)
}

// noteText says a core Text in the UI's language. Its parameters may themselves need
// saying first: a counter.Text or a devices problem.
func noteText(t counter.Text) string {
	if len(t.Args) == 0 {
		return lang.L(t.Key)
	}
	args := make(map[string]any, len(t.Args))
	for k, v := range t.Args {
		args[k] = argText(v)
	}
	return lang.L(t.Key, args)
}

// argText says one message parameter.
func argText(v any) any {
	switch x := v.(type) {
	case counter.Text:
		return noteText(x)
	case *devices.Problem:
		return problemText(x, "")
	}
	return v
}

// failText says an error: a form's refusal in the UI's language, else its text.
func failText(err error) string {
	var fe *counter.FormError
	if errors.As(err, &fe) {
		return noteText(fe.Text)
	}
	return err.Error()
}

// questionTexts lists the open visit's questions by id in the UI's language.
func (u *UI) questionTexts(ids []string) string {
	vs, _ := u.c.Visit()
	texts := make([]string, 0, len(ids))
	for _, id := range ids {
		q, _ := vs.Q.Question(id)
		texts = append(texts, q.TextFor(u.loc()))
	}
	return strings.Join(texts, "；")
}

// problemText says a devices problem in the UI's language ("devices."+code in the
// translations, with the problem's parameters); fallback when there is none.
func problemText(p *devices.Problem, fallback string) string {
	if p == nil {
		return fallback
	}
	if p.Code == "gs1.ai_invalid" { // a value problem inside one AI: render the inner one
		code, _ := p.Args["Code"].(string)
		args, _ := p.Args["Args"].(map[string]any)
		return lang.L("devices.gs1.ai_invalid", map[string]any{"AI": p.Args["AI"],
			"Detail": problemText(&devices.Problem{Code: code, Args: args}, fallback)})
	}
	return lang.L("devices."+p.Code, p.Args)
}

// scanProblem is why a scan is invalid, in the UI's language.
func scanProblem(s devices.Scan) string { return problemText(s.Problem, s.Error) }

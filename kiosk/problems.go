package kiosk

import (
	"errors"

	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/devices"
)

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

// errText says err in the UI's language when it is a devices problem (or the insurance
// gateway's refusal); other errors keep their own text.
func errText(err error) string {
	if p, ok := devices.ProblemOf(err); ok {
		return problemText(p, err.Error())
	}
	if errors.Is(err, devices.ErrInsuranceUnresolved) {
		return lang.L("devices.insurance.unresolved")
	}
	return err.Error()
}

// scanProblem is why a scan is invalid, in the UI's language.
func scanProblem(s devices.Scan) string { return problemText(s.Problem, s.Error) }

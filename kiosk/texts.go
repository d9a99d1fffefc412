package kiosk

import (
	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
)

// flows gives codes and numbers; these say them in the UI's language through the
// translations (assets/i18n renders them, lang.L looks the keys up in the locale the
// counter was started with).

// className is a chronic class's name.
func className(class string) string { return i18n.ClassName(lang.L, class) }

// alertText is a class's continuity alert, "" when there is nothing to say.
func alertText(r flows.ClassResult) string {
	a, ok := flows.AlertOf(r)
	if !ok {
		return ""
	}
	return i18n.AlertText(lang.L, a)
}

// unknownDrugsText is the note on purchases of unknown drugs, "" when there are none.
func unknownDrugsText(a flows.Analysis) string {
	return i18n.UnknownDrugsText(lang.L, flows.UnknownDrugs(a))
}

// lookback is the parameter of the texts that name the analysis window ("近 90 天").
func lookback() map[string]any { return map[string]any{"Days": flows.DefaultLookbackDays} }

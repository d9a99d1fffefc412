package kiosk

import (
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pharmachain/counter/flows"
)

// The building blocks the screens share.

// title is a large bold heading.
func title(s string) *canvas.Text {
	t := canvas.NewText(s, theme.Color(theme.ColorNameForeground))
	t.TextStyle.Bold = true
	t.TextSize = theme.TextHeadingSize()
	return t
}

// text is body text of the given relative size.
func text(s string, scale float32, bold bool) *canvas.Text {
	t := canvas.NewText(s, theme.Color(theme.ColorNameForeground))
	t.TextStyle.Bold = bold
	t.TextSize = theme.TextSize() * scale
	return t
}

// wrap is a word-wrapping label.
func wrap(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// option is a numbered choice button: key n or a tap selects it.
func (u *UI) option(n int, label string, selected bool, tap func()) *kButton {
	b := u.button(fmt.Sprintf("%d   %s", n, label), tap)
	b.Alignment = widget.ButtonAlignLeading
	if selected {
		b.Importance = widget.HighImportance
	}
	return b
}

// press is a tap standing in for key r (an option button).
func (u *UI) press(r rune) func() { return func() { u.c.Rune(r) } }

// loc is the UI language as the domain files name it.
func (u *UI) loc() string { return string(u.o.Locale) }

// en reports whether the UI speaks English.
func (u *UI) en() bool { return u.o.Locale == LocaleEn }

// stepHeader shows the four steps with the current one highlighted, and the customer.
func (u *UI) stepHeader(cur int) fyne.CanvasObject {
	vs, open := u.c.Visit()
	objs := []fyne.CanvasObject{}
	for i := 1; i <= 4; i++ {
		label := fmt.Sprintf("%d %s", i, lang.L(fmt.Sprintf("step.%d", i)))
		t := canvas.NewText(label, theme.Color(theme.ColorNameForeground))
		t.TextSize = theme.TextSize()
		bg := canvas.NewRectangle(color.NRGBA{0xee, 0xee, 0xee, 0xff})
		if i == cur {
			t.TextStyle.Bold = true
			t.Color = color.White
			bg.FillColor = u.th.Color(theme.ColorNamePrimary, 0)
		} else if open && i <= flows.StepsDone(vs.Visit) {
			t.Text = "✓ " + label
		}
		bg.CornerRadius = 6
		objs = append(objs, container.NewStack(bg, container.NewPadded(t)))
	}
	who := ""
	if open {
		who = lang.L("visit.customer", map[string]any{"Masked": vs.Visit.CustomerMasked})
		if vs.Name != "" {
			who += " " + maskName(vs.Name)
		}
	}
	return container.NewVBox(container.NewGridWithColumns(4, objs...), text(who, 1.1, true))
}

// maskName shows only the family name (privacy: the queue can see the screen).
func maskName(n string) string {
	rs := []rune(n)
	if len(rs) <= 1 {
		return n
	}
	return string(rs[0]) + strings.Repeat("*", len(rs)-1)
}

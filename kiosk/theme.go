package kiosk

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
)

// Bundled font files (assets/data/fonts), Noto Sans CJK SC subset to GB 2312 + ASCII.
const (
	FontRegular = "fonts/NotoSansCJKsc-Regular.otf"
	FontBold    = "fonts/NotoSansCJKsc-Bold.otf"
)

// Alert colour names of the counter theme. Every use of them is paired with a text label
// (红色/黄色/正常 …), so the level never depends on colour alone.
const (
	ColorAlertRed    fyne.ThemeColorName = "pharmachain.alertRed"
	ColorAlertYellow fyne.ThemeColorName = "pharmachain.alertYellow"
	ColorAlertOK     fyne.ThemeColorName = "pharmachain.alertOK"
	ColorAlertNone   fyne.ThemeColorName = "pharmachain.alertNone"
	ColorBanner      fyne.ThemeColorName = "pharmachain.banner"
)

// Theme is the counter's theme: the bundled CJK font, large type readable at arm's length
// and a light, high-contrast palette (near-black text on white).
type Theme struct {
	regular, bold fyne.Resource
	scale         float32
}

// NewTheme loads the bundled fonts from assets. scale multiplies every text size (1 =
// the counter default of 20 pt body text).
func NewTheme(scale float32) (*Theme, error) {
	if scale <= 0 {
		scale = 1
	}
	reg, err := assets.Read(FontRegular)
	if err != nil {
		return nil, fmt.Errorf("theme: regular font: %w", err)
	}
	bold, err := assets.Read(FontBold)
	if err != nil {
		return nil, fmt.Errorf("theme: bold font: %w", err)
	}
	return &Theme{
		regular: fyne.NewStaticResource("NotoSansCJKsc-Regular.otf", reg),
		bold:    fyne.NewStaticResource("NotoSansCJKsc-Bold.otf", bold),
		scale:   scale,
	}, nil
}

// FontResource returns the bundled regular or bold font (for the hello-world baseline of
// the measurement, which must use the same font).
func (t *Theme) FontResource(bold bool) fyne.Resource {
	if bold {
		return t.bold
	}
	return t.regular
}

// Color implements fyne.Theme. The variant is ignored: the counter is always light.
func (t *Theme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	switch n {
	case ColorAlertRed:
		return color.NRGBA{0xc6, 0x28, 0x28, 0xff}
	case ColorAlertYellow:
		return color.NRGBA{0xf9, 0xa8, 0x25, 0xff}
	case ColorAlertOK:
		return color.NRGBA{0x2e, 0x7d, 0x32, 0xff}
	case ColorAlertNone:
		return color.NRGBA{0x61, 0x61, 0x61, 0xff}
	case ColorBanner:
		return color.NRGBA{0xff, 0xf3, 0xc4, 0xff}
	case theme.ColorNameBackground:
		return color.NRGBA{0xff, 0xff, 0xff, 0xff}
	case theme.ColorNameForeground:
		return color.NRGBA{0x11, 0x11, 0x11, 0xff}
	case theme.ColorNamePrimary:
		return color.NRGBA{0x0b, 0x6e, 0x3b, 0xff}
	case theme.ColorNameButton:
		return color.NRGBA{0xe8, 0xec, 0xef, 0xff}
	case theme.ColorNameHeaderBackground:
		return color.NRGBA{0xe3, 0xf2, 0xe8, 0xff}
	case theme.ColorNameSeparator:
		return color.NRGBA{0x90, 0x90, 0x90, 0xff}
	case theme.ColorNameInputBackground:
		return color.NRGBA{0xf5, 0xf5, 0xf5, 0xff}
	case theme.ColorNamePlaceHolder:
		return color.NRGBA{0x55, 0x55, 0x55, 0xff}
	case theme.ColorNameDisabled:
		return color.NRGBA{0x6b, 0x6b, 0x6b, 0xff}
	case theme.ColorNameError:
		return color.NRGBA{0xc6, 0x28, 0x28, 0xff}
	case theme.ColorNameWarning:
		return color.NRGBA{0xf9, 0xa8, 0x25, 0xff}
	case theme.ColorNameSuccess:
		return color.NRGBA{0x2e, 0x7d, 0x32, 0xff}
	}
	return theme.DefaultTheme().Color(n, theme.VariantLight)
}

// Font implements fyne.Theme: the bundled CJK font for every style (monospace too, so
// Chinese never falls back to a font without it).
func (t *Theme) Font(s fyne.TextStyle) fyne.Resource {
	if s.Bold {
		return t.bold
	}
	return t.regular
}

// Icon implements fyne.Theme.
func (t *Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

// Size implements fyne.Theme: large type for a screen read at arm's length.
func (t *Theme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameText:
		return 20 * t.scale
	case theme.SizeNameHeadingText:
		return 32 * t.scale
	case theme.SizeNameSubHeadingText:
		return 24 * t.scale
	case theme.SizeNameCaptionText:
		return 16 * t.scale
	case theme.SizeNamePadding:
		return 6
	case theme.SizeNameInnerPadding:
		return 10
	case theme.SizeNameInlineIcon:
		return 24
	}
	return theme.DefaultTheme().Size(n)
}

// LevelColor is the theme colour name of an adherence level.
func LevelColor(level string) fyne.ThemeColorName {
	switch level {
	case flows.LevelRed:
		return ColorAlertRed
	case flows.LevelYellow:
		return ColorAlertYellow
	case flows.LevelOK:
		return ColorAlertOK
	}
	return ColorAlertNone
}

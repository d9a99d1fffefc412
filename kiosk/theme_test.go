package kiosk

import (
	"bytes"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"
	"unicode"

	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
)

// Every character of the translations and the UI code is in the bundled font subset, so
// nothing falls back to (absent) system fonts on a store PC.
func TestFontCoversUI(t *testing.T) {
	for _, file := range []string{FontRegular, FontBold} {
		b, err := assets.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		faces, err := font.ParseTTF(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		chars := map[rune]bool{}
		srcs, _ := filepath.Glob("*.go")
		core, _ := filepath.Glob("counter/*.go")
		srcs = append(srcs, core...)
		for _, f := range append(srcs, "../assets/data/translations/zh_Hans.json", "../assets/data/translations/en.json") {
			s, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range string(s) {
				if unicode.IsPrint(r) && r > ' ' {
					chars[r] = true
				}
			}
		}
		for _, r := range "王芳李娜陈明张三李四王五赵六高血压糖尿病高血脂" { // roster and class names
			chars[r] = true
		}
		for r := range chars {
			if _, ok := faces.NominalGlyph(r); !ok {
				t.Errorf("%s lacks %q (U+%04X)", file, r, r)
			}
		}
	}
}

func TestThemeColoursAndLabels(t *testing.T) {
	th, err := NewTheme(1)
	if err != nil {
		t.Fatal(err)
	}
	if th.Size(theme.SizeNameText) < 18 {
		t.Errorf("body text %v pt: too small for arm's length", th.Size(theme.SizeNameText))
	}
	fg := th.Color(theme.ColorNameForeground, theme.VariantLight)
	bg := th.Color(theme.ColorNameBackground, theme.VariantLight)
	if c := contrast(fg, bg); c < 7 {
		t.Errorf("text contrast %.1f:1, want ≥ 7:1", c)
	}
	seen := map[string]bool{}
	for _, lv := range []string{flows.LevelRed, flows.LevelYellow, flows.LevelOK, flows.LevelUnknown, ""} {
		l := levelLabel(lv)
		if l == "" || seen[l] {
			t.Errorf("level %q has label %q (must be non-empty and distinct)", lv, l)
		}
		seen[l] = true
	}
	if LevelColor(flows.LevelRed) == LevelColor(flows.LevelYellow) {
		t.Error("red and yellow share a colour")
	}
}

// contrast is the WCAG contrast ratio of two colours.
func contrast(a, b color.Color) float64 {
	lum := func(c color.Color) float64 {
		r, g, bl, _ := c.RGBA()
		ch := func(v uint32) float64 {
			x := float64(v) / 0xffff
			if x <= 0.03928 {
				return x / 12.92
			}
			return math.Pow((x+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(bl)
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

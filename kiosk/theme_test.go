package kiosk

import (
	"bytes"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
)

// Every character a screen can show is in the bundled font subset, so nothing falls back
// to (absent) system fonts on a store PC: the translations, the UI code, the core and the
// demo, every embedded data file the counter shows from (questionnaires, knowledge base,
// catalog, follow-up messages, points rules: the built-in content pack, version 0, which
// HQ's content editor starts every pack from), and every GB 2312 character (the names of
// pharmacists, customers and drugs a chain's own data and packs bring).
func TestFontCoversUI(t *testing.T) {
	chars := map[rune]string{}
	add := func(from, s string) {
		for _, r := range s {
			if unicode.IsPrint(r) && r > ' ' && chars[r] == "" {
				chars[r] = from
			}
		}
	}
	var srcs []string
	for _, pat := range []string{"*.go", "counter/*.go", "demo/*.go"} {
		m, _ := filepath.Glob(pat)
		srcs = append(srcs, m...)
	}
	for _, f := range srcs {
		s, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add(f, string(s))
	}
	data := 0
	if err := fs.WalkDir(assets.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := assets.Read(p)
		if err != nil {
			return err
		}
		data++
		add("assets/data/"+p, string(b))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"questionnaires", "knowledge", "catalog", "messages", "rules", "translations"} {
		if m, _ := fs.Glob(assets.FS(), dir+"/*.json"); len(m) == 0 {
			t.Fatalf("no %s files read", dir)
		}
	}
	gb := simplifiedchinese.GBK.NewDecoder()
	for hi := 0xB0; hi <= 0xF7; hi++ { // GB 2312 hanzi, levels 1 and 2
		for lo := 0xA1; lo <= 0xFE; lo++ {
			if hi == 0xD7 && lo > 0xF9 { // the five unassigned codes at the end of level 1
				continue
			}
			r, err := gb.Bytes([]byte{byte(hi), byte(lo)})
			if err != nil {
				t.Fatal(err)
			}
			add("GB 2312", string(r))
		}
	}
	if len(chars) < 6800 || data < 8 {
		t.Fatalf("only %d characters from %d data files", len(chars), data)
	}
	for _, file := range []string{FontRegular, FontBold} {
		b, err := assets.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		faces, err := font.ParseTTF(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for r, from := range chars {
			if _, ok := faces.NominalGlyph(r); !ok {
				t.Errorf("%s lacks %q (U+%04X), shown from %s", file, r, r, from)
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

package main

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/lang"

	"github.com/pharmachain/counter/kiosk"
	"github.com/pharmachain/counter/kiosk/demo"
)

// The demo scanner window follows the locale.
func TestDemoScannerLocale(t *testing.T) {
	labels := func() string {
		var b strings.Builder
		for _, x := range demo.Buttons() {
			b.WriteString(label(x.Label) + "\n")
		}
		return b.String() + lang.L("demo.title")
	}
	if err := kiosk.SetupTranslations(kiosk.LocaleZh); err != nil {
		t.Fatal(err)
	}
	zh := labels()
	if !strings.Contains(zh, "顾客 A 身份证") || !strings.Contains(zh, "演示扫码枪") {
		t.Fatalf("zh demo scanner:\n%s", zh)
	}
	if err := kiosk.SetupTranslations(kiosk.LocaleEn); err != nil {
		t.Fatal(err)
	}
	en := labels()
	if !strings.Contains(en, "Customer A ID card") || !strings.Contains(en, "Demo scanner") {
		t.Fatalf("en demo scanner:\n%s", en)
	}
	for _, w := range []string{"顾客", "工牌", "药盒", "演示", "高血压"} {
		if strings.Contains(en, w) {
			t.Fatalf("en demo scanner says %q:\n%s", w, en)
		}
	}
}

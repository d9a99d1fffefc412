package kiosk

import (
	"regexp"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/pharmachain/counter/devices"
)

// Every problem code of devices has a translation in both languages, and no Chinese
// rendering is the English sentence.
func TestProblemTranslations(t *testing.T) {
	zh, en := readTranslations(t, fileZh), readTranslations(t, fileEn)
	han := regexp.MustCompile(`\p{Han}`)
	for _, c := range devices.ProblemCodes() {
		k := "devices." + c
		if zh[k] == "" || en[k] == "" {
			t.Errorf("no translation for problem %q", k)
			continue
		}
		if !han.MatchString(zh[k]) {
			t.Errorf("zh %s is not Chinese: %q", k, zh[k])
		}
		if han.MatchString(en[k]) {
			t.Errorf("en %s is not English: %q", k, en[k])
		}
	}
}

// The manual entry and a scan say what is wrong with an ID in Chinese, with the numbers.
func TestProblemsInChinese(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.signIn(1, "1234")
	h.typeRune('1')
	h.typeString("11010519491231002")
	h.key(fyne.KeyReturn)
	h.mustShow("证件号无效：应为 18 位，实为 17 位")
	h.key(fyne.KeyEscape)
	h.serialScan("110105194912310029") // wrong check character
	h.mustShow("证件号无效：校验位是 9，按前 17 位应为 X（有数字输错）")
	h.serialScan("69012345678") // 11 digits: unknown
	h.mustShow("扫码无效：无法识别的条码：11 位数字")
	h.serialScan("6901234567893")
	h.mustShow("扫码无效：商品条码校验位是 3，应为 2")
	h.serialScan("]d2010690123456789217261331")
	h.mustShow("扫码无效：GS1 条码 AI (17)：13 月不存在")
	for _, s := range h.texts() {
		if strings.Contains(s, "must be") || strings.Contains(s, "check digit") {
			t.Fatalf("English on the Chinese screen: %q", s)
		}
	}
}

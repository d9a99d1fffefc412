package devices

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
)

var testSecret = []byte("test-chain-secret-0123456789")

func testClassifier() *Classifier {
	return &Classifier{Secret: testSecret, Now: func() time.Time { return testToday }}
}

func frameOf(s string) Frame { return MakeFrame([]byte(s), testToday) }

func TestClassify(t *testing.T) {
	c := testClassifier()
	gs := "\x1d"
	cases := []struct {
		name, in string
		kind     Kind
		valid    bool
		check    func(t *testing.T, s Scan)
		errHas   string
	}{
		{"id example", "11010519491231002X", KindIDNumber, true, func(t *testing.T, s Scan) {
			if s.Masked != "1101**********002X" || s.CustomerKey != customerkey.Hash(testSecret, "11010519491231002X").String() || len(s.CustomerKey) != 32 {
				t.Errorf("masked %q key %q", s.Masked, s.CustomerKey)
			}
		}, ""},
		{"id lower x", "11010519491231002x", KindIDNumber, true, func(t *testing.T, s Scan) {
			if s.CustomerKey != customerkey.Hash(testSecret, "11010519491231002X").String() || s.Masked != "1101**********002X" {
				t.Errorf("lower x not normalised before hashing: %v", s)
			}
		}, ""},
		{"id 1880", "440524188001010014", KindIDNumber, true, nil, ""},
		{"id 34", "34052419800101001X", KindIDNumber, true, nil, ""},
		{"id 51", "513101198201130014", KindIDNumber, true, nil, ""},
		{"id with AIM", "]Q1513101198201130014", KindIDNumber, true, func(t *testing.T, s Scan) {
			if s.Symbology != "QR" || s.AIM != "]Q1" {
				t.Errorf("symbology %q aim %q", s.Symbology, s.AIM)
			}
		}, ""},
		{"id wrong check", "513101198201130015", KindIDNumber, false, func(t *testing.T, s Scan) {
			if s.CustomerKey != "" || s.Masked != "5131**********0015" {
				t.Errorf("invalid id: key %q masked %q", s.CustomerKey, s.Masked)
			}
		}, "check character"},
		{"id impossible date", withCheck(t, "51310119820230001"), KindIDNumber, false, nil, "not a real date"},
		{"id future date", withCheck(t, "51310120991230001"), KindIDNumber, false, nil, "in the future"},
		{"ean-13", "6901234567892", KindGTIN, true, func(t *testing.T, s Scan) {
			if s.Code != "6901234567892" {
				t.Errorf("code %q", s.Code)
			}
		}, ""},
		{"ean-13 AIM", "]E06901234567892", KindGTIN, true, func(t *testing.T, s Scan) {
			if s.Symbology != "EAN-13" {
				t.Errorf("symbology %q", s.Symbology)
			}
		}, ""},
		{"ean-13 wrong check", "6901234567893", KindGTIN, false, nil, "check digit is 3, expected 2"},
		{"ean-8", "96385074", KindGTIN, true, nil, ""},
		{"ean-8 wrong", "96385075", KindGTIN, false, nil, "expected 4"},
		{"upc-a", "036000291452", KindGTIN, true, nil, ""},
		{"upc-a wrong", "036000291453", KindGTIN, false, nil, "expected 2"},
		{"gtin-14", "16901234567899", KindGTIN, true, nil, ""},
		{"gtin-14 wrong", "16901234567890", KindGTIN, false, nil, "expected 9"},
		{"trace code", "81234560123456789012", KindTraceCode, true, func(t *testing.T, s Scan) {
			if s.DrugID != "8123456" || s.Code != "81234560123456789012" {
				t.Errorf("drug %q code %q", s.DrugID, s.Code)
			}
		}, ""},
		{"gs1 full", "]d2010690123456789217260531" + "10LOT42" + gs + "21SN0001", KindGS1, true, func(t *testing.T, s Scan) {
			if s.GTIN != "06901234567892" || s.Code != s.GTIN || s.Expiry != "2026-05-31" || s.Batch != "LOT42" || s.Serial != "SN0001" || s.Symbology != "GS1 DataMatrix" {
				t.Errorf("gs1 parsed wrong: %+v", s)
			}
		}, ""},
		{"gs1 no AIM leading GS", gs + "0106901234567892" + "10B1" + gs + "17270200", KindGS1, true, func(t *testing.T, s Scan) {
			if s.Batch != "B1" || s.Expiry != "2027-02-28" {
				t.Errorf("gs1 %+v", s)
			}
		}, ""},
		{"gs1 human readable", "(01)06901234567892(17)260531(10)A1", KindGS1, true, func(t *testing.T, s Scan) {
			if s.Batch != "A1" || s.Expiry != "2026-05-31" {
				t.Errorf("gs1 %+v", s)
			}
		}, ""},
		{"gs1 wrong gtin", "]C10106901234567893" + "17260531", KindGS1, false, nil, "check digit is 3, expected 2"},
		{"gs1 bad expiry", "]d20106901234567892" + "17261331", KindGS1, false, nil, "month 13"},
		{"gs1 bad day", "]d20106901234567892" + "17260231", KindGS1, false, nil, "day 31 does not exist in month 02"},
		{"gs1 unknown AI", "]d20106901234567892" + "99XYZ", KindGS1, false, nil, "unsupported or malformed application identifier"},
		{"gs1 short GTIN", "]d2010690123", KindGS1, false, nil, "needs 14 characters"},
		{"gs1 batch too long", "]d20106901234567892" + "10" + strings.Repeat("A", 21), KindGS1, false, nil, "1 to 20 characters"},
		{"gs1 without 01", "]d21726053110A", KindGS1, false, nil, "no GTIN"},
		{"staff", "STAFF-0042", KindStaffBadge, true, func(t *testing.T, s Scan) {
			if s.StaffID != "0042" {
				t.Errorf("staff id %q", s.StaffID)
			}
		}, ""},
		{"staff empty", "STAFF-", KindStaffBadge, false, nil, "no valid staff id"},
		{"insurance", "YB0123456789abcdefXYZ", KindInsuranceQR, true, func(t *testing.T, s Scan) {
			if !s.HasToken() {
				t.Error("token not kept")
			}
		}, ""},
		{"unknown text", "hello world", KindUnknown, false, nil, "unrecognised code: 11 characters"},
		{"unknown digits", "12345", KindUnknown, false, nil, "5 digits"},
		{"empty", "", KindUnknown, false, nil, "empty"},
		{"only AIM", "]E0", KindUnknown, false, nil, "empty code"},
		{"gb18030 text", string(gb18030("药师")), KindUnknown, false, nil, "2 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := c.Classify(frameOf(tc.in))
			if s.Kind != tc.kind || s.Valid != tc.valid {
				t.Fatalf("Classify(%q) = %s valid=%t (err %q), want %s valid=%t", tc.in, s.Kind, s.Valid, s.Error, tc.kind, tc.valid)
			}
			if tc.errHas != "" && !strings.Contains(s.Error, tc.errHas) {
				t.Errorf("error %q, want containing %q", s.Error, tc.errHas)
			}
			if tc.valid && s.Error != "" {
				t.Errorf("valid scan with error %q", s.Error)
			}
			if !s.At.Equal(testToday) {
				t.Errorf("At = %v", s.At)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestClassifyConfig(t *testing.T) {
	c := &Classifier{Secret: testSecret, StaffPrefix: "EMP:", InsurancePattern: regexp.MustCompile(`^INS\d{8}$`),
		Now: func() time.Time { return testToday }}
	if s := c.Classify(frameOf("EMP:7")); s.Kind != KindStaffBadge || s.StaffID != "7" {
		t.Errorf("custom staff prefix: %v", s)
	}
	if s := c.Classify(frameOf("STAFF-7")); s.Kind != KindUnknown {
		t.Errorf("default prefix still accepted with custom one: %v", s)
	}
	if s := c.Classify(frameOf("INS12345678")); s.Kind != KindInsuranceQR || !s.Valid {
		t.Errorf("custom insurance pattern: %v", s)
	}
	if s := c.Classify(frameOf("YB0123456789abcdefXYZ")); s.Kind != KindUnknown {
		t.Errorf("default insurance pattern still used: %v", s)
	}
	noSecret := &Classifier{}
	if s := noSecret.Classify(frameOf("11010519491231002X")); s.Valid || s.CustomerKey != "" || !strings.Contains(s.Error, "no chain secret") {
		t.Errorf("no secret: %v", s)
	}
	// Rejected frames become unknown scans carrying the reason.
	s := c.Classify(MakeFrame([]byte("ab\x00cd"), testToday))
	if s.Kind != KindUnknown || !strings.Contains(s.Error, "control bytes") {
		t.Errorf("rejected frame: %v", s)
	}
}

// A Scan must never reveal a raw ID number or an insurance token: not in JSON, not through
// fmt verbs, not through slog.
func TestScanNeverLeaksSecrets(t *testing.T) {
	c := testClassifier()
	const rawID = "11010519491231002X"
	const token = "YBsecretTOKEN0123456789"
	ins := c.Classify(frameOf(token))
	id := c.Classify(frameOf(rawID))
	bad := c.Classify(frameOf("110105194912310021")) // wrong check digit
	if ins.Kind != KindInsuranceQR || id.Kind != KindIDNumber || bad.Kind != KindIDNumber {
		t.Fatalf("setup: %v / %v / %v", ins, id, bad)
	}
	for _, s := range []Scan{ins, id, bad} {
		js, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		ptr, _ := json.Marshal(&s)
		ev, _ := json.Marshal(Event{Type: EventScan, Scan: &s})
		var logBuf strings.Builder
		lg := slog.New(slog.NewTextHandler(&logBuf, nil))
		lg.Info("scan", "scan", s, "ptr", &s)
		jl := slog.New(slog.NewJSONHandler(&logBuf, nil))
		jl.Info("scan", "scan", s)
		outs := map[string]string{
			"json": string(js), "json ptr": string(ptr), "event json": string(ev),
			"%v": fmt.Sprintf("%v", s), "%+v": fmt.Sprintf("%+v", s), "%#v": fmt.Sprintf("%#v", s),
			"%s": fmt.Sprintf("%s", s), "ptr %+v": fmt.Sprintf("%+v", &s), "event %+v": fmt.Sprintf("%+v", Event{Scan: &s}),
			"slice %v": fmt.Sprintf("%v", []Scan{s}), "slog": logBuf.String(),
		}
		for name, out := range outs {
			for _, secret := range []string{rawID, token, "110105194912310021", "0123456789", "19491231"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s of %s scan leaks %q: %s", name, s.Kind, secret, out)
				}
			}
		}
	}
	if !strings.Contains(fmt.Sprintf("%v", id), "1101**********002X") {
		t.Errorf("String should show the masked form: %v", id)
	}
}

func gb18030(s string) []byte {
	b, err := gbEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

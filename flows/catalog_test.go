package flows

import (
	"strings"
	"testing"
)

func TestGS1CheckDigit(t *testing.T) {
	if !ValidGTIN("6901234567892") {
		t.Error("reference example 6901234567892 must be valid")
	}
	for _, bad := range []string{"6901234567891", "690123456789", "69012345678920", "abc", "", "6901234567892 "} {
		if ValidGTIN(bad) {
			t.Errorf("ValidGTIN(%q) = true", bad)
		}
	}
	// GTIN-8, GTIN-12 and GTIN-14 forms.
	for _, ok := range []string{"96385074", "036000291452", "06901234567892", "16901234567899"} {
		if !ValidGTIN(ok) {
			t.Errorf("ValidGTIN(%q) = false", ok)
		}
	}
}

func TestCatalogLookup(t *testing.T) {
	cat := NewCatalog([]Drug{
		{Code: "6901234567892", Name: "苯磺酸氨氯地平片", Ingredient: "amlodipine", ATC: "C08CA01", PackDaysSupply: 28,
			AltCodes: []string{"8101000", "YP01001", "16901234567899"}},
		{Code: "036000291452", Name: "GTIN-12 drug", Ingredient: "x", ATC: "C10AA05", PackDaysSupply: 7},
		{Code: "96385074", Name: "GTIN-8 drug", Ingredient: "y", ATC: "A10BA02", PackDaysSupply: 10},
	})
	cases := map[string]string{
		"6901234567892":        "苯磺酸氨氯地平片",
		"06901234567892":       "苯磺酸氨氯地平片", // GTIN-14 with leading zero
		" 6901234567892\n":     "苯磺酸氨氯地平片",
		"81010001234567890123": "苯磺酸氨氯地平片", // trace code: first 7 digits
		"YP01001":              "苯磺酸氨氯地平片", // POS code
		"16901234567899":       "苯磺酸氨氯地平片", // case-level GTIN-14 as alt code
		"00036000291452":       "GTIN-12 drug",
		"0036000291452":        "GTIN-12 drug",
		"036000291452":         "GTIN-12 drug",
		"00000096385074":       "GTIN-8 drug",
		"96385074":             "GTIN-8 drug",
	}
	for code, want := range cases {
		d, ok := cat.Lookup(code)
		if !ok || d.Name != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", code, d.Name, ok, want)
		}
	}
	for _, miss := range []string{"", "6901234567893", "81020001234567890123", "yp01001", "8101000123"} {
		if d, ok := cat.Lookup(miss); ok {
			t.Errorf("Lookup(%q) found %q", miss, d.Name)
		}
	}
	var nilCat *Catalog
	if _, ok := nilCat.Lookup("6901234567892"); ok || nilCat.All() != nil {
		t.Error("nil catalog must find nothing")
	}
	all := cat.All()
	all[0].Name = "changed"
	if d, _ := cat.Lookup("YP01001"); d.Name == "changed" {
		t.Error("All must return a copy")
	}
}

func TestLoadCatalogErrors(t *testing.T) {
	cases := map[string]string{
		`{}`: "want a list, got an object",
		`[{"code":"X1","name":"a","atc":"C08","Name":"b"}]`:                                                  `field [0].Name: unknown field`,
		`[{"code":"X1","name":"a","atc":"C08","name":"b"}]`:                                                  `field [0].name: duplicate key`,
		`[{"code":"","name":"a","atc":"C08"}]`:                                                               "field [0].code: is empty",
		`[{"code":"X1","name":"","atc":"C08"}]`:                                                              `[0].name (drug "X1"): is empty`,
		`[{"code":"X1","name":"a","atc":""}]`:                                                                `[0].atc (drug "X1"): is empty`,
		`[{"code":"6901234567891","name":"a","atc":"C08"}]`:                                                  "check digit",
		`[{"code":"X1","name":"a","atc":"C08","pack_days_supply":-1}]`:                                       "pack_days_supply",
		`[{"code":"X1","name":"a","atc":"C08"},{"code":"X2","name":"b","atc":"C08","alt_codes":["X1"]}]`:     "already used",
		`[{"code":"6901234567892","name":"a","atc":"C08"},{"code":"06901234567892","name":"b","atc":"C08"}]`: "already used",
	}
	for in, want := range cases {
		_, err := LoadCatalog([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadCatalog(%s) = %v, want error containing %q", in, err, want)
		}
	}
}

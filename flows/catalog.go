package flows

import (
	"fmt"
	"strings"
)

// Catalog is an immutable drug catalog indexed by every code a drug can be scanned or
// sold under: its GTIN (any of GTIN-8/12/13/14, normalised to 14 digits), the 7-digit
// drug id of a 20-digit trace code (药品追溯码) and POS item codes. It is safe for
// concurrent use because it is never modified after construction.
type Catalog struct {
	drugs []Drug
	index map[string]int // normalised code → index into drugs
}

// NewCatalog builds a catalog. Later drugs do not replace earlier ones: the first drug
// registered under a code wins (LoadCatalog rejects duplicates instead).
func NewCatalog(drugs []Drug) *Catalog {
	c := &Catalog{drugs: append([]Drug(nil), drugs...), index: make(map[string]int, len(drugs)*2)}
	for i := range c.drugs {
		c.drugs[i].Kind = defaultKind(c.drugs[i])
	}
	for i, d := range c.drugs {
		for _, code := range drugCodes(d) {
			k := normaliseCode(code)
			if k == "" {
				continue
			}
			if _, dup := c.index[k]; !dup {
				c.index[k] = i
			}
		}
	}
	return c
}

// defaultKind is an entry's kind: its own, else rx for an entry with an ATC code and
// nondrug for one without.
func defaultKind(d Drug) string {
	switch {
	case d.Kind != "":
		return d.Kind
	case strings.TrimSpace(d.ATC) == "":
		return KindNonDrug
	}
	return KindRx
}

func drugCodes(d Drug) []string {
	return append([]string{d.Code}, d.AltCodes...)
}

// LoadCatalog parses a JSON array of Drug (strict: unknown fields and duplicate keys
// rejected) and validates it: every entry needs a code and a name; kind, if given, is
// rx, otc or nondrug (omitted: rx); a medicine (rx, otc) needs an ATC code and a nondrug
// product may not have one; a code that looks like a GTIN must carry a valid GS1 check
// digit; pack_days_supply must be ≥ 0; no code may be used by two entries. Errors are
// *DataError naming the field.
func LoadCatalog(data []byte) (*Catalog, error) {
	var drugs []Drug
	if err := decodeStrict(data, &drugs); err != nil {
		return nil, err
	}
	seen := make(map[string]string, len(drugs)*2)
	for i, d := range drugs {
		f := index("", i)
		ent := fmt.Sprintf("drug %q", d.Code)
		if strings.TrimSpace(d.Code) == "" {
			return nil, fieldErr(f+".code", "", "is empty")
		}
		if strings.TrimSpace(d.Name) == "" {
			return nil, fieldErr(f+".name", ent, "is empty")
		}
		switch {
		case d.Kind != "" && (!ValidKind(d.Kind) || strings.TrimSpace(d.Kind) != d.Kind):
			return nil, fieldErr(f+".kind", ent, "is %q, want rx, otc or nondrug", d.Kind)
		case d.Kind == KindNonDrug && strings.TrimSpace(d.ATC) != "":
			return nil, fieldErr(f+".atc", ent, "%q on a nondrug product (ATC codes classify medicines)", d.ATC)
		case d.Kind != KindNonDrug && strings.TrimSpace(d.ATC) == "":
			return nil, fieldErr(f+".atc", ent, "is empty (a product that is not a medicine needs \"kind\": \"nondrug\")")
		}
		if d.PackDaysSupply < 0 {
			return nil, fieldErr(f+".pack_days_supply", ent, "is %d, want ≥ 0", d.PackDaysSupply)
		}
		for k, code := range drugCodes(d) {
			cf := f + ".code"
			if k > 0 {
				cf = index(f+".alt_codes", k-1)
			}
			if isDigits(code) && isGTINLength(len(code)) && !ValidGTIN(code) {
				return nil, fieldErr(cf, ent, "code %q has a wrong GS1 check digit", code)
			}
			key := normaliseCode(code)
			if key == "" {
				return nil, fieldErr(cf, ent, "is empty")
			}
			if other, dup := seen[key]; dup {
				return nil, fieldErr(cf, ent, "code %q already used by drug %q", code, other)
			}
			seen[key] = d.Code
		}
	}
	return NewCatalog(drugs), nil
}

// Lookup finds a drug by any code: a GTIN-8/12/13/14 (leading zeros of a GTIN-14 are
// normalised, so 06901234567892 finds 6901234567892), a 20-digit trace code (the drug is
// identified by its first 7 digits) or a POS code (exact, surrounding spaces ignored).
func (c *Catalog) Lookup(code string) (Drug, bool) {
	if c == nil {
		return Drug{}, false
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return Drug{}, false
	}
	if i, ok := c.index[normaliseCode(code)]; ok {
		return c.drugs[i], true
	}
	if len(code) == 20 && isDigits(code) {
		if i, ok := c.index[code[:7]]; ok {
			return c.drugs[i], true
		}
	}
	return Drug{}, false
}

// KindOf is the catalog's kind (rx, otc, nondrug) of the product sold under code, or ""
// when the code is not in the catalog.
func (c *Catalog) KindOf(code string) string {
	d, ok := c.Lookup(code)
	if !ok {
		return ""
	}
	return d.Kind
}

// ResolvePurchase is the one enrichment of a purchase from the catalog: wherever a
// purchase enters (HQ's ingest and imports, the kiosk's POS import, demo data) and
// wherever the continuity analysis reads one (ReadPurchase). What the sale did not say
// comes from the catalog entry of its drug code: name, ingredient, ATC, days' supply
// (round(quantity × pack_days_supply), at least 1) and kind. Given fields win; blank
// ingredient and ATC count as not given and given ones lose surrounding spaces. Days'
// supply is bounded to MaxDaysSupply however it was found, and a negative one counts as
// not given. It reports whether the product is known: in the catalog, or described by
// the sale itself (ingredient and ATC). A purchase of a product the catalog does not
// list keeps its own fields (its kind stays as given, possibly empty). cat may be nil.
func ResolvePurchase(cat *Catalog, p *Purchase) bool {
	p.Ingredient, p.ATC = strings.TrimSpace(p.Ingredient), strings.TrimSpace(p.ATC)
	if p.DaysSupply > MaxDaysSupply {
		p.DaysSupply = MaxDaysSupply
	}
	if p.DaysSupply < 0 {
		p.DaysSupply = 0
	}
	d, ok := cat.Lookup(p.DrugCode)
	if !ok {
		return p.Ingredient != "" && p.ATC != ""
	}
	if p.Name == "" {
		p.Name = d.Name
	}
	if p.Ingredient == "" {
		p.Ingredient = d.Ingredient
	}
	if p.ATC == "" {
		p.ATC = d.ATC
	}
	if p.DaysSupply == 0 {
		p.DaysSupply = packSupply(p.Quantity, d.PackDaysSupply)
	}
	if p.Kind == "" {
		p.Kind = d.Kind
	}
	return true
}

// All returns a copy of every drug in catalog order.
func (c *Catalog) All() []Drug {
	if c == nil {
		return nil
	}
	return append([]Drug(nil), c.drugs...)
}

// Len is the number of drugs.
func (c *Catalog) Len() int {
	if c == nil {
		return 0
	}
	return len(c.drugs)
}

// normaliseCode maps a GTIN of any length to its 14-digit form; other codes are trimmed.
func normaliseCode(code string) string {
	code = strings.TrimSpace(code)
	if isDigits(code) && isGTINLength(len(code)) {
		return strings.Repeat("0", 14-len(code)) + code
	}
	return code
}

func isGTINLength(n int) bool { return n == 8 || n == 12 || n == 13 || n == 14 }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// GS1CheckDigit returns the GS1 mod-10 check digit for the data digits (a GTIN without
// its last digit). It returns -1 if data is not all digits.
func GS1CheckDigit(data string) int {
	if !isDigits(data) {
		return -1
	}
	sum := 0
	w := 3
	for i := len(data) - 1; i >= 0; i-- {
		sum += int(data[i]-'0') * w
		w = 4 - w // 3,1,3,1…
	}
	return (10 - sum%10) % 10
}

// ValidGTIN reports whether code is a GTIN-8/12/13/14 with a correct GS1 check digit.
func ValidGTIN(code string) bool {
	if !isDigits(code) || !isGTINLength(len(code)) {
		return false
	}
	return GS1CheckDigit(code[:len(code)-1]) == int(code[len(code)-1]-'0')
}

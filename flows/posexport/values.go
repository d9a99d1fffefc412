package posexport

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/pharmachain/counter/flows"
)

// maxShown is how many characters of a cell an error message quotes at most.
const maxShown = 40

// safeText makes a cell fit for an error message or a report: ID-like numbers masked
// (maskIDs), control characters dropped, long text cut. Nothing this package prints
// quotes a cell without it.
func safeText(s string) string {
	out := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, maskIDs(s))
	if utf8.RuneCountInString(out) > maxShown {
		rs := []rune(out)
		out = string(rs[:maxShown]) + "…"
	}
	return out
}

// maskIDs masks every run of 15 or more digits (an ID number, old or new, with its X)
// the way the kiosk shows ID numbers (first 4 and last 4 kept: 1101**********002X) and
// shows control characters other than newlines and tabs as '?'.
func maskIDs(s string) string {
	var b strings.Builder
	start := -1
	flush := func(seg string) {
		if len(seg) >= 15 {
			b.WriteString(seg[:4])
			b.WriteString(strings.Repeat("*", len(seg)-8))
			b.WriteString(seg[len(seg)-4:])
		} else {
			b.WriteString(seg)
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r >= '0' && r <= '9') || ((r == 'x' || r == 'X') && start >= 0) {
			if start < 0 {
				start = i
			}
			i += size
			continue
		}
		if start >= 0 {
			flush(s[start:i])
			start = -1
		}
		switch {
		case r == utf8.RuneError:
			b.WriteRune('\ufffd')
		case r >= 0x20 && r != 0x7f, r == '\n', r == '\t':
			b.WriteRune(r)
		default:
			b.WriteByte('?') // a control character: shown, so that it cannot join two digit runs
		}
		i += size
	}
	if start >= 0 {
		flush(s[start:])
	}
	return b.String()
}

// show quotes a cell for an error message (see safeText).
func show(s string) string { return strconv.Quote(safeText(s)) }

// idWeights are the GB 11643-1999 (ISO 7064 MOD 11-2) weights of the first 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// looksLikeIDNumber reports whether s holds an 18-character ID number: 17 digits, the
// right check character, a birth date that is a real day from 1800 on. Such a cell in a
// column other than the customer's (columns mixed up) would carry a raw ID to storage,
// so the row is refused.
func looksLikeIDNumber(s string) bool {
	for i := 0; i+18 <= len(s); i++ {
		if i > 0 && isDigitByte(s[i-1]) {
			continue
		}
		if i+18 < len(s) && (isDigitByte(s[i+18]) || s[i+18] == 'x' || s[i+18] == 'X') {
			continue
		}
		if idAt(s[i : i+18]) {
			return true
		}
	}
	return false
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

func idAt(s string) bool {
	sum := 0
	for i := 0; i < 17; i++ {
		if !isDigitByte(s[i]) {
			return false
		}
		sum += int(s[i]-'0') * idWeights[i]
	}
	want := "10X98765432"[sum%11]
	c := s[17]
	if c == 'x' {
		c = 'X'
	}
	if c != want {
		return false
	}
	y, _ := strconv.Atoi(s[6:10])
	m, _ := strconv.Atoi(s[10:12])
	d, _ := strconv.Atoi(s[12:14])
	if y < 1800 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() == d
}

// excelRounded reports whether a cell is a number Excel turned into floating point
// notation (1.10105E+17): a long code stored as a number has lost its last digits.
func excelRounded(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i <= 0 || i+1 >= len(s) || s[i+1] != '+' {
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return false
	}
	return strings.Trim(s[:i], "0123456789.") == ""
}

var errNegativeAmount = errors.New("is negative: returns and refunds are not imported")

// parseYuan turns a yuan amount (元, "12.5", "1,234.50", "￥8.00") into fen exactly,
// without floating point. More than 2 decimals are refused unless they are zeros, or,
// when lenient (numbers read from a workbook, which Excel stores in binary floating
// point: 12.300000000000001), float noise of five or more 0s or 9s after the fen.
func parseYuan(s string, lenient bool) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimPrefix(t, "¥"), "￥")
	t = strings.TrimSpace(strings.TrimSuffix(t, "元"))
	if strings.HasPrefix(t, "-") {
		return 0, errNegativeAmount
	}
	t = strings.TrimPrefix(t, "+")
	if t == "" || t == "." {
		return 0, errors.New("is not an amount in yuan")
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if strings.Contains(intPart, ",") {
		groups := strings.Split(intPart, ",")
		for i, g := range groups {
			if (i == 0 && (len(g) < 1 || len(g) > 3)) || (i > 0 && len(g) != 3) {
				return 0, errors.New("is not an amount in yuan (thousands separators misplaced)")
			}
		}
		intPart = strings.Join(groups, "")
	}
	if intPart == "" {
		intPart = "0"
	}
	if !allDigits(intPart) || (frac != "" && !allDigits(frac)) {
		return 0, errors.New("is not an amount in yuan (want digits with at most 2 decimals, e.g. 12.50)")
	}
	if len(strings.TrimLeft(intPart, "0")) > 13 {
		return 0, errors.New("is too large an amount")
	}
	roundUp := false
	if len(frac) > 2 {
		extra := frac[2:]
		switch {
		case strings.Trim(extra, "0") == "":
		case lenient && strings.HasPrefix(extra, "00000"):
		case lenient && strings.HasPrefix(extra, "99999"):
			roundUp = true
		default:
			return 0, errors.New("has more than 2 decimals: not a whole number of fen")
		}
		frac = frac[:2]
	}
	for len(frac) < 2 {
		frac += "0"
	}
	yuan, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, errors.New("is not an amount in yuan")
	}
	fen, _ := strconv.ParseInt(frac, 10, 64)
	total := yuan*100 + fen
	if roundUp {
		total++
	}
	return total, nil
}

// parseFen reads a whole number of fen (分); a workbook's "1200.0" is accepted.
func parseFen(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, errNegativeAmount
	}
	if i, f, ok := strings.Cut(t, "."); ok && strings.Trim(f, "0") == "" {
		t = i
	}
	if !allDigits(t) || len(t) > 17 {
		return 0, errors.New("is not a whole number of fen (分)")
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, errors.New("is not a whole number of fen (分)")
	}
	return v, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigitByte(s[i]) {
			return false
		}
	}
	return true
}

// kindValues maps what POS exports write in a category column to a purchase kind. ""
// means "a drug, kind not said": the catalog's kind applies.
var kindValues = map[string]string{
	"rx": flows.KindRx, "处方药": flows.KindRx, "处方": flows.KindRx, "是": flows.KindRx, "y": flows.KindRx, "yes": flows.KindRx,
	"true": flows.KindRx, "1": flows.KindRx, "双轨处方药": flows.KindRx,
	"otc": flows.KindOTC, "非处方药": flows.KindOTC, "非处方": flows.KindOTC, "甲类otc": flows.KindOTC, "乙类otc": flows.KindOTC,
	"甲类非处方药": flows.KindOTC, "乙类非处方药": flows.KindOTC, "otc甲类": flows.KindOTC, "otc乙类": flows.KindOTC,
	"甲类": flows.KindOTC, "乙类": flows.KindOTC,
	"nondrug": flows.KindNonDrug, "非药品": flows.KindNonDrug, "器械": flows.KindNonDrug, "医疗器械": flows.KindNonDrug,
	"保健品": flows.KindNonDrug, "保健食品": flows.KindNonDrug, "食品": flows.KindNonDrug, "日用品": flows.KindNonDrug,
	"化妆品": flows.KindNonDrug, "消毒用品": flows.KindNonDrug, "其他": flows.KindNonDrug, "非药": flows.KindNonDrug,
	// A drug, but not which kind (not prescription is OTC or a non-drug product):
	"否": "", "n": "", "no": "", "false": "", "0": "", "药品": "", "西药": "", "中成药": "", "中药": "", "中药饮片": "",
}

// parseKind reads a kind cell; ok is false for a value it does not know (the row is
// kept with the catalog's kind, and the report counts the value).
func parseKind(s string) (kind string, ok bool) {
	if k, ok := kindValues[s]; ok { // as written, the usual case
		return k, true
	}
	k, ok := kindValues[normHeader(s)]
	return k, ok
}

// MaxQuantity is the largest quantity a sale line may have.
const MaxQuantity = 100000

// parseQuantity reads a quantity > 0 and ≤ MaxQuantity ("2", "2.000", "0.5").
func parseQuantity(s string) (float64, error) {
	q, err := strconv.ParseFloat(s, 64)
	if err != nil || !(q > 0) || math.IsInf(q, 0) {
		if err == nil && q < 0 {
			return 0, errors.New("is negative: returns are not imported (want a number > 0)")
		}
		return 0, errors.New("is not a number > 0")
	}
	if q > MaxQuantity {
		return 0, fmt.Errorf("is more than %d: a code or an ID in the quantity column?", MaxQuantity)
	}
	return q, nil
}

// parseDays reads days_supply: whole days 0..MaxDaysSupply; "30天" and a workbook's
// "30.0" are accepted.
func parseDays(s string) (int, error) {
	t := strings.TrimSpace(strings.TrimSuffix(s, "天"))
	if i, f, ok := strings.Cut(t, "."); ok && strings.Trim(f, "0") == "" {
		t = i
	}
	d, err := strconv.Atoi(t)
	if err != nil || d < 0 || d > MaxDaysSupply {
		return 0, fmt.Errorf("is not a whole number of days 0..%d (or empty)", MaxDaysSupply)
	}
	return d, nil
}

// ParseSaleDate reads a sale date or time: YYYY-MM-DD (also with '/' or '.', without
// leading zeros, or as 2026年6月1日 or 20260601), optionally followed by a time of day
// HH:MM[:SS] (a local time, Asia/Shanghai), or RFC 3339 with its zone.
func ParseSaleDate(s string) (time.Time, error) {
	return parseDate(s, false, false)
}

// parseDate is ParseSaleDate; serial accepts an Excel date serial number (a workbook's
// raw date cell: days since 1899-12-30, or since 1904-01-01 with date1904).
func parseDate(s string, serial, date1904 bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errEmpty
	}
	bad := func() (time.Time, error) {
		return time.Time{}, errors.New("is not a date (want YYYY-MM-DD [HH:MM[:SS]], 2026/6/1, 2026年6月1日, 20260601 or RFC 3339)")
	}
	if strings.ContainsAny(s, "TZz") && len(s) >= 20 {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
	}
	if serial {
		// Serials below 100000 (years to 2173); 20260601 is a yyyymmdd date.
		if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 1 && v < 100000 && !strings.ContainsAny(s, "eE") {
			return excelSerial(v, date1904), nil
		}
	}
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	datePart, timePart := s, ""
	if i := strings.IndexAny(s, " T"); i > 0 {
		datePart, timePart = s[:i], strings.TrimSpace(s[i+1:])
	}
	var y, m, d int
	switch {
	case len(datePart) == 8 && allDigits(datePart):
		y, _ = strconv.Atoi(datePart[:4])
		m, _ = strconv.Atoi(datePart[4:6])
		d, _ = strconv.Atoi(datePart[6:])
	default:
		p := dateSeparators.Replace(datePart)
		parts := strings.Split(p, "-")
		if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) < 1 || len(parts[2]) > 2 ||
			!allDigits(parts[0]) || !allDigits(parts[1]) || !allDigits(parts[2]) {
			return bad()
		}
		y, _ = strconv.Atoi(parts[0])
		m, _ = strconv.Atoi(parts[1])
		d, _ = strconv.Atoi(parts[2])
	}
	if y < 1 || m < 1 || m > 12 || d < 1 || time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() != d {
		return bad()
	}
	if timePart == "" {
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, flows.Shanghai()), nil
	}
	var hh, mm, ss int
	tp := strings.Split(timePart, ":")
	if len(tp) < 2 || len(tp) > 3 {
		return bad()
	}
	if len(tp) == 3 {
		sec, _, _ := strings.Cut(tp[2], ".") // fractions of a second are dropped
		tp[2] = sec
	}
	for i, v := range tp {
		if len(v) < 1 || len(v) > 2 || !allDigits(v) {
			return bad()
		}
		n, _ := strconv.Atoi(v)
		switch i {
		case 0:
			hh = n
		case 1:
			mm = n
		case 2:
			ss = n
		}
	}
	if hh > 23 || mm > 59 || ss > 59 {
		return bad()
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, 0, flows.Shanghai()), nil
}

// dateSeparators turns 2026年6月1日, 2026/6/1 and 2026.6.1 into 2026-6-1 (a Replacer
// is safe for concurrent use and never changes).
var dateSeparators = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-")

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// excelSerial converts an Excel date serial (with a fraction for the time of day) to a
// time in Asia/Shanghai, to the second.
func excelSerial(v float64, date1904 bool) time.Time {
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, flows.Shanghai())
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, flows.Shanghai())
	}
	days := math.Floor(v)
	secs := math.Round((v - days) * 86400)
	return base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
}

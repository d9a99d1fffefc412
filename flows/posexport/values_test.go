package posexport

import (
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

func TestParseYuan(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "12": 1200, "12.5": 1250, "12.50": 1250, "12.500": 1250, "0.07": 7, ".5": 50, "12.": 1200,
		"1,234.56": 123456, "1,234,567": 123456700, "￥8.00": 800, "¥ 8": 800, "8元": 800, "+3": 300,
		"9999999999999.99": 999999999999999,
	} {
		if got, err := parseYuan(in, false); err != nil || got != want {
			t.Errorf("parseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "-1", "1.005", "abc", "1e3", "12,34", ",123", "1,2345", "10000000000000", "1.2.3", "NaN", "0x10"} {
		if got, err := parseYuan(in, false); err == nil {
			t.Errorf("parseYuan(%q) = %d, want an error", in, got)
		}
	}
	// From a workbook: binary floating point noise is rounded to the fen, nothing else.
	for in, want := range map[string]int64{"12.300000000000001": 1230, "3.9999999999999996": 400, "0.29999999999999999": 30, "1.10": 110} {
		if got, err := parseYuan(in, true); err != nil || got != want {
			t.Errorf("lenient parseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseYuan("1.0049", true); err == nil {
		t.Error("1.0049 accepted")
	}
	for in, want := range map[string]int64{"0": 0, "1250": 1250, "1250.0": 1250} {
		if got, err := parseFen(in); err != nil || got != want {
			t.Errorf("parseFen(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"12.5", "-1", "x", "123456789012345678"} {
		if _, err := parseFen(in); err == nil {
			t.Errorf("parseFen(%q) accepted", in)
		}
	}
}

func TestParseSaleDate(t *testing.T) {
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, flows.Shanghai())
	at := time.Date(2026, 6, 1, 9, 5, 7, 0, flows.Shanghai())
	for in, want := range map[string]time.Time{
		"2026-06-01": day, "2026/06/01": day, "2026/6/1": day, "2026.6.1": day, "2026年6月1日": day, "20260601": day,
		" 2026-06-01 ": day, "2026-06-01 09:05:07": at, "2026/6/1 9:05:07": at, "2026-06-01T09:05:07": at,
		"2026-06-01 09:05:07.123": at, "2026-06-01 09:05": at.Add(-7 * time.Second),
		"2026-06-01T09:05:07+08:00": at, "2026-06-01T01:05:07Z": at, "２０２６－０６－０１": day,
	} {
		got, err := ParseSaleDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSaleDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2026-13-01", "2026-02-30", "26-06-01", "2026-06-01 25:00", "2026-06-01 10", "06/01/2026", "46174", "yesterday", "2026-06-01 10:00:00:00"} {
		if got, err := ParseSaleDate(in); err == nil {
			t.Errorf("ParseSaleDate(%q) = %v, want an error", in, got)
		}
	}
	// Workbook serials: 46174 is 2026-06-01; .5 is noon; the 1904 date system.
	for in, want := range map[string]time.Time{"46174": day, "46174.5": day.Add(12 * time.Hour), "20260601": day} {
		if got, err := parseDate(in, true, false); err != nil || !got.Equal(want) {
			t.Errorf("serial %q = %v, %v", in, got, err)
		}
	}
	if got, _ := parseDate("44712", true, true); !got.Equal(day) {
		t.Errorf("1904 serial = %v", got)
	}
}

func TestMaskingAndIDNumbers(t *testing.T) {
	for in, want := range map[string]string{
		rawID:                   "1101**********002X",
		"11010519491231002x":    "1101**********002x",
		"a" + rawID + "b":       "a1101**********002Xb",
		"110105491231002":       "1101*******1002", // a 15-digit (first-generation) ID
		"12345678901234":        "12345678901234",  // 14 digits: a code, shown
		"X1001":                 "X1001",
		"tab\there\x00\x1b[31m": "tab here??[31m",
	} {
		if got := safeText(in); got != want {
			t.Errorf("safeText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := safeText(strings.Repeat("药", 50)); got != strings.Repeat("药", 40)+"…" {
		t.Errorf("long text = %q", got)
	}
	for in, want := range map[string]bool{
		rawID: true, "440524188001010014": true, "34052419800101001x": true, "name " + rawID: true,
		"110105194912310021": false, // wrong check character
		"000000000000000000": false, // no birth date
		"1" + rawID:          false, // part of a longer number
		"202606010001234567": false,
		"6901234567892":      false,
	} {
		if got := looksLikeIDNumber(in); got != want {
			t.Errorf("looksLikeIDNumber(%q) = %v", in, got)
		}
	}
	for in, want := range map[string]bool{"1.10105E+17": true, "2.0260601000123E+17": true, "6901234567892": false, "1E5": false, "E+17": false, "D1E+5": false} {
		if got := excelRounded(in); got != want {
			t.Errorf("excelRounded(%q) = %v", in, got)
		}
	}
	for in, want := range map[string]string{"处方药": "rx", "Rx": "rx", "ＯＴＣ": "otc", "甲类OTC": "otc", "乙类非处方药": "otc", "医疗器械": "nondrug", "否": "", "中成药": ""} {
		if got, ok := parseKind(in); !ok || got != want {
			t.Errorf("parseKind(%q) = %q, %v", in, got, ok)
		}
	}
	if _, ok := parseKind("特价"); ok {
		t.Error("unknown kind known")
	}
}

func TestLineCounter(t *testing.T) {
	var c lineCounter
	want := map[uint64]uint32{}
	// Keys with low bits alike (probing), zero, and repeats across growth.
	for round := range 3 {
		for i := range 5000 {
			h := uint64(i) << 20
			if i%7 == 0 {
				h = uint64(i % 3) // 0, 1, 2: 0 and 1 share a slot
			}
			want[max(h, 1)]++
			if got := c.add(h); got != want[max(h, 1)] {
				t.Fatalf("round %d key %d: count %d, want %d", round, h, got, want[max(h, 1)])
			}
		}
	}
	if c.n != len(want) {
		t.Fatalf("%d keys, want %d", c.n, len(want))
	}
}

// A table past offHeapMin (outside the Go heap on Unix) counts alike, and free
// releases it.
func TestLineCounterLarge(t *testing.T) {
	var c lineCounter
	const n = 700_000
	for i := uint64(1); i <= n; i++ {
		c.add(i * 0x9E3779B97F4A7C15)
	}
	for i := uint64(1); i <= n; i += 997 {
		if got := c.add(i * 0x9E3779B97F4A7C15); got != 2 {
			t.Fatalf("key %d: %d", i, got)
		}
	}
	if c.n != n || len(c.slots)*8 < 4<<20 {
		t.Fatalf("%d keys in %d slots", c.n, len(c.slots))
	}
	c.free()
	if c.add(42) != 1 {
		t.Fatal("after free")
	}
	c.free()
}

package posexport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
)

// rawID is a well-formed ID number: no error text may ever contain it.
const rawID = "11010519491231002X"

var testNow = time.Date(2026, 6, 10, 12, 0, 0, 0, flows.Shanghai())

// resolveErrText is the fake resolver's only error text.
const resolveErrText = "not a customer key"

// fakeResolve accepts 32 lower-case hex characters as a key, maps rawID to a fixed key
// and refuses anything else without quoting it.
func fakeResolve(cell string) (customerkey.Key, error) {
	if cell == rawID {
		return customerkey.Key(strings.Repeat("ab", 16)), nil
	}
	if len(cell) == 32 && strings.Trim(cell, "0123456789abcdef") == "" {
		return customerkey.Key(cell), nil
	}
	return "", errors.New(resolveErrText)
}

type result struct {
	rows     []flows.Purchase
	rejected []*RowError
	err      error // NewReader's or Each's
	read     int
}

func readAll(t *testing.T, text string, opt Options) result {
	t.Helper()
	if opt.ResolveCustomer == nil {
		opt.ResolveCustomer = fakeResolve
	}
	if opt.Now.IsZero() {
		opt.Now = testNow
	}
	var res result
	rd, err := NewReader(strings.NewReader(text), opt)
	if err != nil {
		res.err = err
		return res
	}
	res.err = rd.Each(context.Background(), func(p flows.Purchase) error {
		res.rows = append(res.rows, p)
		return nil
	}, func(e *RowError) { res.rejected = append(res.rejected, e) })
	res.read = rd.Rows()
	return res
}

const hdr = "sale_id,id_number_or_customer_key,date,drug_code,quantity,days_supply\n"

func TestReader(t *testing.T) {
	key := strings.Repeat("0f", 16)
	for _, tc := range []struct {
		name       string
		text       string
		opt        Options
		wantIDs    []string
		wantReject []string // "line N: text" fragments, in order
		wantErr    string   // fragment of a whole-read error
	}{
		{name: "BOM and CRLF",
			text:    "\ufeff" + strings.ReplaceAll(hdr, "\n", "\r\n") + "1," + rawID + ",2026-06-01,D1,1,30\r\n2," + key + ",2026-06-02,D2,2,\r\n",
			wantIDs: []string{"S1:1:D1", "S1:2:D2"}},
		{name: "any column order, case and spaces, aliases",
			text:    " Drug_Code , QUANTITY,sold_at,sale_id,customer_key\nD1,1,2026-06-01T10:00:00+08:00,7," + key + "\n",
			wantIDs: []string{"S1:7:D1"}},
		{name: "blank lines skipped",
			text:    hdr + "\n1," + key + ",2026-06-01,D1,1,\n\n",
			wantIDs: []string{"S1:1:D1"}},
		{name: "duplicate lines of one sale get :n",
			text:    hdr + "1," + key + ",2026-06-01,D1,1,\n1," + key + ",2026-06-01,D1,1,\n1," + key + ",2026-06-01,D2,1,\n1," + key + ",2026-06-01,D1,1,\n",
			wantIDs: []string{"S1:1:D1", "S1:1:D1:2", "S1:1:D2", "S1:1:D1:3"}},
		{name: "missing columns",
			text:    "sale,who,when\n1,2,3\n",
			wantErr: `header row lacks sale_id, id_number_or_customer_key, date, drug_code, quantity. Headers found: "sale", "who", "when"`},
		{name: "column given twice",
			text:    "sale_id,id_number,date,drug_code,ID_Number,quantity\n",
			wantErr: `column "id_number" given twice (cells 2 and 5)`},
		{name: "two customer columns: the first non-empty one",
			text:    "sale_id,customer_key,id_number,date,drug_code,quantity\n1,," + rawID + ",2026-06-01,D1,1\n2," + key + ",,2026-06-01,D1,1\n3,,,2026-06-01,D1,1\n",
			wantIDs: []string{"S1:1:D1", "S1:2:D1"}, wantReject: []string{"line 4: id_number (id_number_or_customer_key): empty"}},
		{name: "empty file", text: "", wantErr: "empty file"},
		{name: "no store",
			text: hdr, opt: Options{Store: "-"}, // replaced below
			wantErr: "lacks store_id"},
		{name: "bad dates",
			text:       hdr + "1," + key + ",2026-13-01,D1,1,\n2," + key + ",2026-02-30,D1,1,\n3," + key + ",yesterday,D1,1,\n4," + key + ",,D1,1,\n5," + key + ",2026-06-12,D1,1,\n6," + key + ",2026-06-11,D1,1,\n",
			wantIDs:    []string{"S1:6:D1"},
			wantReject: []string{"line 2: date: \"2026-13-01\" is not a date", "line 3: date: \"2026-02-30\"", "line 4: date: \"yesterday\"", "line 5: date: empty", "line 6: date: 2026-06-12 is in the future"}},
		{name: "bad quantities and days",
			text:       hdr + "1," + key + ",2026-06-01,D1,0,\n2," + key + ",2026-06-01,D1,-1,\n3," + key + ",2026-06-01,D1,NaN,\n4," + key + ",2026-06-01,D1,+Inf,\n5," + key + ",2026-06-01,D1,,\n6," + key + ",2026-06-01,D1,1,3651\n7," + key + ",2026-06-01,D1,1,1.5\n8," + key + ",2026-06-01,D1,0.5,3650\n",
			wantIDs:    []string{"S1:8:D1"},
			wantReject: []string{"line 2: quantity: \"0\" is not a number > 0", "line 3: quantity: \"-1\" is negative", "line 4: quantity: \"NaN\"", "line 5: quantity: \"+Inf\"", "line 6: quantity: \"\"", "line 7: days_supply: \"3651\"", "line 8: days_supply: \"1.5\""}},
		{name: "':' is reserved by purchase ids (sale 1 code D1:2 would collide with the second D1 line of sale 1)",
			text:       hdr + "1," + key + ",2026-06-01,D1,1,\n1," + key + ",2026-06-01,D1:2,1,\n1:2," + key + ",2026-06-01,D1,1,\n1," + key + ",2026-06-01,D1,1,\n",
			wantIDs:    []string{"S1:1:D1", "S1:1:D1:2"},
			wantReject: []string{"line 3: drug_code: \"D1:2\" contains ':'", "line 4: sale_id: \"1:2\" contains ':'"}},
		{name: "control characters in what becomes an id",
			text:       hdr + "1\x01," + key + ",2026-06-01,D1,1,\n2," + key + ",2026-06-01,D\x7f1,1,\n3," + key + ",2026-06-01,D1,1,\n",
			wantIDs:    []string{"S1:3:D1"},
			wantReject: []string{"line 2: sale_id: holds control characters", "line 3: drug_code: holds control characters"}},
		{name: "empty cells and bad CSV",
			text:       hdr + ",x,2026-06-01,D1,1,\n2,,2026-06-01,D1,1,\n3," + key + ",2026-06-01,,1,\n4,\"1\"1,2026-06-01,D1,1,\n5,nobody,2026-06-01,D1,1,\n",
			wantReject: []string{"line 2: sale_id: empty", "line 3: id_number_or_customer_key: empty", "line 4: drug_code: empty", "line 5: not valid CSV", "line 6: id_number_or_customer_key: " + resolveErrText}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			if opt.Store == "" {
				opt.Store = "S1"
			} else if opt.Store == "-" {
				opt.Store = ""
			}
			res := readAll(t, tc.text, opt)
			if tc.wantErr != "" {
				if res.err == nil || !strings.Contains(res.err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", res.err, tc.wantErr)
				}
				return
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			var ids []string
			for _, p := range res.rows {
				ids = append(ids, p.ID)
				if p.CustomerKey == "" || p.StoreID != "S1" || p.SoldAt.IsZero() || !(p.Quantity > 0) {
					t.Errorf("row %+v", p)
				}
			}
			if strings.Join(ids, " ") != strings.Join(tc.wantIDs, " ") {
				t.Errorf("ids = %v, want %v", ids, tc.wantIDs)
			}
			if len(res.rejected) != len(tc.wantReject) {
				t.Fatalf("rejected = %v, want %d", res.rejected, len(tc.wantReject))
			}
			for i, want := range tc.wantReject {
				if got := res.rejected[i].Error(); !strings.HasPrefix(got, want) {
					t.Errorf("rejection %d = %q, want prefix %q", i, got, want)
				}
			}
			if res.read != len(res.rows)+len(res.rejected) {
				t.Errorf("Rows() = %d, want %d", res.read, len(res.rows)+len(res.rejected))
			}
		})
	}
}

func TestReaderRowValues(t *testing.T) {
	res := readAll(t, "sale_id,id_number,date,drug_code,quantity,days_supply,name,ingredient,atc,store_id\n"+
		"9,"+rawID+",2026-06-01,D1,2.5,28,N,I,C09,\n"+
		"9,"+rawID+",2026-06-01T23:30:00+08:00,D1,1,,N,I,C09,S2\n",
		Options{Store: "S1", StoreColumn: true, DrugColumns: true})
	if res.err != nil || len(res.rows) != 2 {
		t.Fatalf("%+v", res)
	}
	p := res.rows[0]
	if p.ID != "S1:9:D1" || p.CustomerKey != strings.Repeat("ab", 16) || p.Quantity != 2.5 || p.DaysSupply != 28 ||
		p.Name != "N" || p.Ingredient != "I" || p.ATC != "C09" || !p.SoldAt.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, flows.Shanghai())) {
		t.Errorf("row 1 = %+v", p)
	}
	// Another store: its own id space, no :2.
	if p := res.rows[1]; p.ID != "S2:9:D1" || p.StoreID != "S2" {
		t.Errorf("row 2 = %+v", p)
	}
	// Without the options, store_id and the drug columns are ignored.
	res = readAll(t, "sale_id,id_number,date,drug_code,quantity,name,store_id\n9,"+rawID+",2026-06-01,D1,1,N,S2\n", Options{Store: "S1"})
	if len(res.rows) != 1 || res.rows[0].ID != "S1:9:D1" || res.rows[0].Name != "" {
		t.Errorf("defaults = %+v", res)
	}
	// An empty store_id cell without a default store rejects the row.
	res = readAll(t, "sale_id,store_id,id_number,date,drug_code,quantity\n9,,"+rawID+",2026-06-01,D1,1\n", Options{StoreColumn: true})
	if len(res.rejected) != 1 || !errors.Is(res.rejected[0], ErrNoStore) {
		t.Errorf("no store = %+v", res)
	}
}

func TestReaderNeverEchoesTheCustomerCell(t *testing.T) {
	// Every row is bad in some way and carries the raw ID.
	text := hdr +
		"," + rawID + ",2026-06-01,D1,1,\n" + // sale_id
		"2," + rawID + ",2026-13-01,D1,1,\n" + // date
		"3," + rawID + ",2026-06-01,,1,\n" + // drug
		"4," + rawID + ",2026-06-01,D1,x,\n" + // quantity
		"5," + rawID + ",2026-06-01,D1,1,-1\n" + // days
		"6," + rawID + "0,2026-06-01,D1,1,\n" + // not an ID: resolver refuses
		"7,\"" + rawID + "\"x,2026-06-01,D1,1,\n" // bad quoting
	res := readAll(t, text, Options{Store: "S1"})
	if res.err != nil || len(res.rejected) != 7 {
		t.Fatalf("%+v", res)
	}
	for _, e := range res.rejected {
		if strings.Contains(e.Error(), rawID[:17]) {
			t.Errorf("raw ID echoed: %q", e)
		}
	}
}

func TestReaderFatalAndContext(t *testing.T) {
	stop := errors.New("no secret")
	calls := 0
	res := readAll(t, hdr+"1,a,2026-06-01,D1,1,\n2,b,2026-06-01,D1,1,\n", Options{Store: "S1", ResolveCustomer: func(string) (customerkey.Key, error) {
		calls++
		return "", Fatal(stop)
	}})
	if res.err != stop || calls != 1 {
		t.Fatalf("err = %v after %d calls, want the fatal error itself after 1", res.err, calls)
	}
	// An empty key from the resolver is a rejection, not a keyless row.
	res = readAll(t, hdr+"1,a,2026-06-01,D1,1,\n", Options{Store: "S1", ResolveCustomer: func(string) (customerkey.Key, error) { return "", nil }})
	if len(res.rows) != 0 || len(res.rejected) != 1 {
		t.Fatalf("empty key: %+v", res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rd, err := NewReader(strings.NewReader(hdr+"1,a,2026-06-01,D1,1,\n"), Options{Store: "S1", ResolveCustomer: fakeResolve})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := NewReader(strings.NewReader(hdr), Options{Store: "S1"}); err == nil {
		t.Fatal("nil resolver accepted")
	}
	var nilReader *Reader
	if nilReader.Rows() != 0 {
		t.Fatal("nil Rows")
	}
	// At the end Next keeps returning io.EOF.
	rd, _ = NewReader(strings.NewReader(hdr), Options{Store: "S1", ResolveCustomer: fakeResolve})
	for range 2 {
		if _, err := rd.Next(context.Background()); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
	}
}

// fuzzEncodings are the --encoding values the fuzz target tries.
var fuzzEncodings = []string{"", "utf-8", "gb18030", "utf-16le", "utf-16be"}

// FuzzPOSExport reads any bytes as a text export, in every encoding, with and without a
// column mapping: no panic; no error or report ever holds 15 digits in a row (a raw ID
// number; every quoted cell is masked); every accepted row is complete and stores no ID
// number outside the customer key.
func FuzzPOSExport(f *testing.F) {
	key := strings.Repeat("0f", 16)
	for _, s := range []string{
		hdr + "1," + rawID + ",2026-06-01,D1,1,30\n1," + rawID + ",2026-06-01,D1,1,30\n",
		"\ufeff" + strings.ReplaceAll(hdr, "\n", "\r\n") + "2," + key + ",2026-06-02T10:00:00+08:00,D2,2.5,\r\n",
		hdr + "3,\"" + rawID + "\"x,2026-06-01,D1,1,\n4," + rawID + ",2026-13-01,D1,0,-1\n",
		"sale_id,store_id,customer_key,sold_at,drug_code,quantity,name\n5,,x" + rawID + ",,,NaN,\n",
		"",
		chineseText(","),
		"标题\n单据,身份证号,销售日期,国家医保编码,数量,金额(分),类别\n" + rawID + "," + rawID + ",2026/6/1 10:00," + rawID + ",1,12,处方药\n合计,,,,,,\n",
	} {
		f.Add([]byte(s), uint8(0), false)
	}
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(chineseText(",")))
	f.Add(gbk, uint8(0), true)
	f.Add(gbk, uint8(1), false)
	u16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(chineseText("\t")))
	f.Add(u16, uint8(0), false)
	f.Add(u16[2:len(u16)-3], uint8(3), true)
	mapping := map[string][]string{ColSale: {"单据"}, ColDrug: {"国家医保编码", "商品编码"}}
	f.Fuzz(func(t *testing.T, data []byte, enc uint8, mapped bool) {
		resolve := func(c string) (customerkey.Key, error) {
			if c == "" {
				t.Fatal("resolver called with an empty cell")
			}
			return resolveBoth(c)
		}
		opt := Options{Store: "S1", StoreColumn: true, DrugColumns: true, Now: testNow, ResolveCustomer: resolve,
			Encoding: fuzzEncodings[int(enc)%len(fuzzEncodings)]}
		if mapped {
			opt.Columns = mapping
		}
		private := func(s string) {
			if m := digitRun.FindString(s); m != "" {
				t.Fatalf("output %q holds %d digits in a row", s, len(m))
			}
		}
		rd, err := NewReader(bytes.NewReader(data), opt)
		if err != nil {
			private(err.Error())
			return
		}
		rep := &Report{File: "fuzz.csv"}
		for {
			p, err := rd.Next(context.Background())
			if err == io.EOF {
				break
			}
			var rowErr *RowError
			if errors.As(err, &rowErr) {
				private(err.Error())
				if rowErr.Line < 1 {
					t.Fatalf("rejection without a line: %v", rowErr)
				}
				rep.Reject(rowErr)
				continue
			}
			if err != nil {
				private(err.Error())
				break // a read error ends the file
			}
			if p.CustomerKey == "" || p.ID == "" || p.StoreID == "" || !(p.Quantity > 0) || p.SoldAt.IsZero() {
				t.Fatalf("accepted row %+v", p)
			}
			if !flows.ValidKind(p.Kind) || (p.AmountFen != nil && *p.AmountFen < 0) {
				t.Fatalf("accepted row %+v", p)
			}
			for _, s := range []string{p.ID, p.StoreID, p.DrugCode, p.ReceiptID, p.Name, p.Ingredient, p.ATC} {
				if looksLikeIDNumber(s) {
					t.Fatalf("accepted row stores an ID number: %+v", p)
				}
			}
			rep.Valid++
			rep.Unknown(p.DrugCode)
		}
		rep.FromReader(rd)
		var out strings.Builder
		if err := rep.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		private(out.String())
	})
}

// FuzzXLSX reads a workbook: either raw (any bytes as a file: a damaged workbook is an
// error, never a panic) or a real one whose data row holds the fuzzed cells.
func FuzzXLSX(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "seed.xlsx")
	chineseXLSX(f, good, false)
	data, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("", data)
	f.Add("", data[:len(data)/3])
	f.Add("A1|"+rawID+"|46174|D1|1|12.5", []byte(nil))
	f.Add(rawID+"|"+rawID+"|"+rawID+"|"+rawID+"|"+rawID+"|"+rawID, []byte(nil))
	f.Add("A1|1.10105E+17|2026/6/1|D1|2|-1", []byte(nil))
	f.Fuzz(func(t *testing.T, cells string, raw []byte) {
		path := filepath.Join(t.TempDir(), "f.xlsx")
		if len(raw) > 0 {
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
		} else {
			if !utf8.ValidString(cells) || strings.ContainsAny(cells, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x1f\ufffe\uffff") {
				return // XML cannot hold these
			}
			row := []any{}
			for _, c := range strings.Split(cells, "|") {
				row = append(row, c)
			}
			writeXLSX(t, path, "S", false, []string{"销售单号", "身份证号", "销售日期", "商品编码", "数量", "金额"}, [][]any{row})
		}
		private := func(s string) {
			if m := digitRun.FindString(s); m != "" {
				t.Fatalf("output %q holds %d digits in a row", s, len(m))
			}
		}
		rd, err := Open(path, Options{Store: "S1", Now: testNow, ResolveCustomer: resolveBoth})
		if err != nil {
			if len(raw) == 0 {
				private(err.Error())
			}
			return
		}
		defer rd.Close()
		for {
			p, err := rd.Next(context.Background())
			if err == io.EOF {
				break
			}
			var rowErr *RowError
			if errors.As(err, &rowErr) {
				private(err.Error())
				continue
			}
			if err != nil {
				break
			}
			if p.CustomerKey == "" || !(p.Quantity > 0) || looksLikeIDNumber(p.ID) {
				t.Fatalf("accepted row %+v", p)
			}
		}
	})
}

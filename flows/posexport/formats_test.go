package posexport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
)

// A POS export as 海典-like systems write it: a title line, Chinese headers, both an ID
// number and an insurance-card column, both a POS code and a national insurance code,
// yuan amounts, a kind column and a total row.
var chineseHeader = []string{"门店编码", "销售单号", "小票号", "销售日期", "身份证号", "医保卡号", "商品编码", "国家医保编码", "商品名称", "数量", "实收金额", "处方类别", "用药天数"}

func chineseRows() [][]string {
	key := strings.Repeat("0f", 16)
	return [][]string{
		{"S001", "X1001", "R1", "2026/6/1 10:30:15", rawID, "", "6901234567892", "", "氨氯地平片", "2", "1234.50", "处方药", "30"},
		{"S001", "X1001", "R1", "2026/6/1 10:30:15", "", "440524188001010014", "", "XA01", "维生素C片", "1", "8", "非处方药", ""},
		{"S002", "X1002", "", "2026年6月2日", key, "", "6901234567892", "", "电子血压计", "1", "199.9", "医疗器械", ""},
	}
}

// wantChinese is what every format of the export above must read as.
func wantChinese() []flows.Purchase {
	fen := func(v int64) *int64 { return &v }
	t1 := time.Date(2026, 6, 1, 10, 30, 15, 0, flows.Shanghai())
	return []flows.Purchase{
		{ID: "S001:X1001:6901234567892", CustomerKey: strings.Repeat("ab", 16), StoreID: "S001", SoldAt: t1, DrugCode: "6901234567892",
			Name: "氨氯地平片", Quantity: 2, DaysSupply: 30, AmountFen: fen(123450), ReceiptID: "R1", Kind: flows.KindRx},
		{ID: "S001:X1001:XA01", CustomerKey: strings.Repeat("cd", 16), StoreID: "S001", SoldAt: t1, DrugCode: "XA01",
			Name: "维生素C片", Quantity: 1, AmountFen: fen(800), ReceiptID: "R1", Kind: flows.KindOTC},
		{ID: "S002:X1002:6901234567892", CustomerKey: strings.Repeat("0f", 16), StoreID: "S002", SoldAt: time.Date(2026, 6, 2, 0, 0, 0, 0, flows.Shanghai()),
			DrugCode: "6901234567892", Name: "电子血压计", Quantity: 1, AmountFen: fen(19990), Kind: flows.KindNonDrug},
	}
}

// resolveBoth knows the two raw IDs of the export.
func resolveBoth(cell string) (customerkey.Key, error) {
	if cell == "440524188001010014" {
		return customerkey.Key(strings.Repeat("cd", 16)), nil
	}
	return fakeResolve(cell)
}

// chineseText is the export as text with sep between cells (a cell holding sep is
// quoted) and CRLF line ends, like Excel.
func chineseText(sep string) string {
	var b strings.Builder
	b.WriteString("销售明细报表\r\n")
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteString(sep)
			}
			if strings.Contains(c, sep) {
				c = `"` + c + `"`
			}
			b.WriteString(c)
		}
		b.WriteString("\r\n")
	}
	line(chineseHeader)
	for _, r := range chineseRows() {
		line(r)
	}
	line([]string{"合计", "", "", "", "", "", "", "", "", "4", "1442.40", "", ""})
	return b.String()
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func encodeGBK(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encodeUTF16(t testing.TB, s string, e unicode.Endianness, bom unicode.BOMPolicy) []byte {
	t.Helper()
	b, err := unicode.UTF16(e, bom).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeXLSX writes a workbook with the export on sheet (after an "说明" sheet when
// second): numbers as numbers and dates as date cells, like Excel keeps them.
func writeXLSX(t testing.TB, path, sheet string, second bool, header []string, rows [][]any) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	first := "Sheet1"
	if second {
		if err := f.SetSheetName(first, "说明"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.NewSheet(sheet); err != nil {
			t.Fatal(err)
		}
	} else if err := f.SetSheetName(first, sheet); err != nil {
		t.Fatal(err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		t.Fatal(err)
	}
	cells := func(vs []any) []any { return vs }
	hdr := make([]any, len(header))
	for i, h := range header {
		hdr[i] = h
	}
	if err := sw.SetRow("A1", cells([]any{"销售明细报表"})); err != nil {
		t.Fatal(err)
	}
	if err := sw.SetRow("A2", hdr); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+3)
		if err := sw.SetRow(cell, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// chineseXLSX is the export as a workbook: the date a date cell, amounts and
// quantities numbers (8 and 199.9 as Excel's binary floating point keeps them).
func chineseXLSX(t testing.TB, path string, second bool) {
	var rows [][]any
	for _, r := range chineseRows() {
		vs := make([]any, len(r))
		for i, c := range r {
			vs[i] = c
		}
		d, err := ParseSaleDate(strings.NewReplacer("/", "-", "年", "-", "月", "-", "日", "").Replace(r[3]))
		if err != nil {
			d, _ = parseDate(r[3], false, false)
		}
		vs[3] = d.In(flows.Shanghai()).Format("2006-01-02 15:04:05") // text, then a real date cell below
		vs[3] = excelize.Cell{Value: time.Date(d.In(flows.Shanghai()).Year(), d.In(flows.Shanghai()).Month(), d.In(flows.Shanghai()).Day(),
			d.In(flows.Shanghai()).Hour(), d.In(flows.Shanghai()).Minute(), d.In(flows.Shanghai()).Second(), 0, time.UTC)}
		var q, amt float64
		fmt.Sscan(r[9], &q)
		fmt.Sscan(r[10], &amt)
		vs[9], vs[10] = q, amt
		if r[12] != "" {
			vs[12] = 30
		}
		rows = append(rows, vs)
	}
	rows = append(rows, []any{"合计", nil, nil, nil, nil, nil, nil, nil, nil, 4, 1442.4})
	writeXLSX(t, path, "销售明细", second, chineseHeader, rows)
}

func readFile(t *testing.T, path string, opt Options) (res result, rd *Reader) {
	t.Helper()
	opt.StoreColumn, opt.DrugColumns = true, true
	if opt.ResolveCustomer == nil {
		opt.ResolveCustomer = resolveBoth
	}
	if opt.Now.IsZero() {
		opt.Now = testNow
	}
	rd, err := Open(path, opt)
	if err != nil {
		res.err = err
		return res, nil
	}
	t.Cleanup(func() { rd.Close() })
	res.err = rd.Each(context.Background(), func(p flows.Purchase) error {
		res.rows = append(res.rows, p)
		return nil
	}, func(e *RowError) { res.rejected = append(res.rejected, e) })
	res.read = rd.Rows()
	return res, rd
}

func TestEveryFormatReadsTheSameExport(t *testing.T) {
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "export.xlsx")
	chineseXLSX(t, xlsx, false)
	xlsx2 := filepath.Join(dir, "export2.xlsx")
	chineseXLSX(t, xlsx2, true)
	tsv := strings.ReplaceAll(chineseText("\t"), "1234.50", "1234.50")
	for _, tc := range []struct {
		name, format string
		data         []byte
		path         string
		opt          Options
	}{
		{name: "UTF-8", format: "CSV, UTF-8", data: []byte(chineseText(","))},
		{name: "UTF-8 with BOM", format: "CSV, UTF-8", data: []byte("\ufeff" + chineseText(","))},
		{name: "GBK (Excel on a Chinese PC), detected", format: "CSV, GB18030", data: encodeGBK(t, chineseText(","))},
		{name: "GBK, --encoding gbk", format: "CSV, GB18030", data: encodeGBK(t, chineseText(",")), opt: Options{Encoding: "gbk"}},
		{name: "UTF-16LE with BOM, tab-separated (Excel Unicode text)", format: "TSV, UTF-16LE",
			data: encodeUTF16(t, tsv, unicode.LittleEndian, unicode.UseBOM)},
		{name: "UTF-16BE with BOM", format: "TSV, UTF-16BE", data: encodeUTF16(t, tsv, unicode.BigEndian, unicode.UseBOM)},
		{name: "UTF-16LE without BOM, detected", format: "TSV, UTF-16LE", data: encodeUTF16(t, tsv, unicode.LittleEndian, unicode.IgnoreBOM)},
		{name: "semicolons", format: "CSV (;), UTF-8", data: []byte(chineseText(";"))},
		{name: "xlsx", format: "xlsx, sheet 销售明细", path: xlsx},
		{name: "xlsx, --sheet", format: "xlsx, sheet 销售明细", path: xlsx2, opt: Options{Sheet: "销售明细"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = writeFile(t, "export.csv", tc.data)
			}
			res, rd := readFile(t, path, tc.opt)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if len(res.rejected) != 0 {
				t.Fatalf("rejected %v", res.rejected)
			}
			want := wantChinese()
			if len(res.rows) != len(want) {
				t.Fatalf("rows = %+v", res.rows)
			}
			for i := range want {
				if !reflect.DeepEqual(res.rows[i], want[i]) && !samePurchase(res.rows[i], want[i]) {
					t.Errorf("row %d =\n%s\nwant\n%s", i, dump(res.rows[i]), dump(want[i]))
				}
			}
			if rd.Format() != tc.format || res.read != 3 || rd.Skipped() != 1 {
				t.Errorf("format %q rows %d skipped %d", rd.Format(), res.read, rd.Skipped())
			}
			m := strings.Join(rd.Mapping(), "; ")
			for _, w := range []string{"sale_id ← 销售单号", "id_number_or_customer_key ← 身份证号 | 医保卡号", "drug_code ← 商品编码 | 国家医保编码", "amount ← 实收金额", "kind ← 处方类别"} {
				if !strings.Contains(m, w) {
					t.Errorf("mapping %q lacks %q", m, w)
				}
			}
		})
	}
}

func samePurchase(a, b flows.Purchase) bool {
	if (a.AmountFen == nil) != (b.AmountFen == nil) || (a.AmountFen != nil && *a.AmountFen != *b.AmountFen) {
		return false
	}
	a.AmountFen, b.AmountFen = nil, nil
	if !a.SoldAt.Equal(b.SoldAt) {
		return false
	}
	a.SoldAt, b.SoldAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func dump(p flows.Purchase) string {
	amt := "nil"
	if p.AmountFen != nil {
		amt = fmt.Sprint(*p.AmountFen)
	}
	return fmt.Sprintf("%+v amount=%s at=%s", p, amt, p.SoldAt.Format(time.RFC3339))
}

func TestEncodingDetectedPastTheFirstLines(t *testing.T) {
	// English headers and 3,000 ASCII rows (well past the look-ahead), then GBK names.
	var b strings.Builder
	b.WriteString("sale_id,customer_key,date,drug_code,quantity,name\n")
	key := strings.Repeat("0f", 16)
	for i := range 3000 {
		fmt.Fprintf(&b, "%d,%s,2026-06-01,D%d,1,aspirin\n", i, key, i)
	}
	b.WriteString("9999," + key + ",2026-06-01,D1,1,阿司匹林肠溶片\n")
	path := writeFile(t, "late.csv", encodeGBK(t, b.String()))
	res, rd := readFile(t, path, Options{Store: "S1"})
	if res.err != nil || len(res.rows) != 3001 || len(res.rejected) != 0 {
		t.Fatalf("%v: %d rows, %v", res.err, len(res.rows), res.rejected)
	}
	if got := res.rows[3000].Name; got != "阿司匹林肠溶片" || rd.Format() != "CSV, GB18030" {
		t.Fatalf("late GBK name %q, format %q", got, rd.Format())
	}
	// The same file in UTF-8 stays UTF-8.
	path = writeFile(t, "late.csv", []byte(b.String()))
	res, rd = readFile(t, path, Options{Store: "S1"})
	if len(res.rows) != 3001 || res.rows[3000].Name != "阿司匹林肠溶片" || rd.Format() != "CSV, UTF-8" {
		t.Fatalf("utf-8: %d rows, %q", len(res.rows), rd.Format())
	}
}

func TestWrongEncoding(t *testing.T) {
	gbk := encodeGBK(t, chineseText(","))
	// A GBK file read as UTF-8: the headers are garbled; the error says so and lists them.
	_, err := Open(writeFile(t, "gbk.csv", gbk), Options{Encoding: "utf-8", StoreColumn: true, ResolveCustomer: resolveBoth, Now: testNow})
	if err == nil || !strings.Contains(err.Error(), "read as UTF-8 (--encoding) but the headers hold bytes that are not UTF-8: drop --encoding") ||
		!strings.Contains(err.Error(), "header row lacks sale_id") || !strings.Contains(err.Error(), "Headers found: ") {
		t.Fatalf("GBK as UTF-8: %v", err)
	}
	// A UTF-8 file read as GB18030: mojibake headers.
	_, err = Open(writeFile(t, "utf8.csv", []byte(chineseText(","))), Options{Encoding: "gb18030", StoreColumn: true, ResolveCustomer: resolveBoth, Now: testNow})
	if err == nil || !strings.Contains(err.Error(), "read as GB18030 (--encoding)") {
		t.Fatalf("UTF-8 as GB18030: %v", err)
	}
	// An unknown --encoding.
	if _, err := Open(writeFile(t, "x.csv", []byte(hdr)), Options{Encoding: "big5", ResolveCustomer: resolveBoth}); err == nil || !strings.Contains(err.Error(), `unknown encoding "big5"`) {
		t.Fatalf("big5: %v", err)
	}
	// A UTF-8 file with one line of GBK bytes in a name: that row is rejected, the rest
	// imported.
	text := "sale_id,customer_key,date,drug_code,quantity,商品名称\n" +
		"1," + strings.Repeat("0f", 16) + ",2026-06-01,D1,1,阿司匹林\n"
	data := append([]byte(text), "2,"+strings.Repeat("0f", 16)+",2026-06-01,D2,1,"...)
	data = append(data, encodeGBK(t, "阿司匹林\n")...)
	data = append(data, "3,"+strings.Repeat("0f", 16)+",2026-06-01,D3,1,维C\n"...)
	res, _ := readFile(t, writeFile(t, "mixed.csv", data), Options{Store: "S1"})
	if res.err != nil || len(res.rows) != 2 || len(res.rejected) != 1 ||
		!strings.HasPrefix(res.rejected[0].Error(), "line 3: 商品名称 (name): holds bytes that are not UTF-8 text") {
		t.Fatalf("mixed: %+v", res)
	}
}

func TestTruncatedFiles(t *testing.T) {
	// A text export cut in the middle of its last row: that row is refused with a
	// clear reason, the rows before are read.
	full := encodeGBK(t, chineseText(","))
	cut := full[:bytes.LastIndex(full, encodeGBK(t, "S002,X1002"))+len("S002,X1002,,")]
	res, _ := readFile(t, writeFile(t, "cut.csv", cut), Options{})
	if res.err != nil || len(res.rows) != 2 || len(res.rejected) != 1 ||
		!strings.Contains(res.rejected[0].Error(), "line 5: the row ends after 4 of the header's 13 columns (a cut line, or the file is truncated)") {
		t.Fatalf("cut csv: %+v %v", res, res.rejected)
	}
	// Cut inside a two-byte GBK character of the name: the row holds undecodable bytes.
	name := encodeGBK(t, "电子血压计")
	i := bytes.Index(full, name) + 3
	res, _ = readFile(t, writeFile(t, "cut2.csv", full[:i]), Options{})
	if len(res.rows) != 2 || len(res.rejected) != 1 || !strings.Contains(res.rejected[0].Error(), "line 5: ") {
		t.Fatalf("cut in a character: %+v", res)
	}
	// Cut inside a quoted cell.
	res, _ = readFile(t, writeFile(t, "cut3.csv", []byte(hdr+"1,"+strings.Repeat("0f", 16)+",2026-06-01,D1,1,\n2,\"abc")), Options{Store: "S1"})
	if len(res.rows) != 1 || len(res.rejected) != 1 || !strings.Contains(res.rejected[0].Error(), "line 3: not valid CSV") {
		t.Fatalf("cut in quotes: %+v", res)
	}
	// A workbook cut short is not a workbook: one clear error, nothing read.
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "e.xlsx")
	chineseXLSX(t, xlsx, false)
	data, err := os.ReadFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	res, _ = readFile(t, writeFile(t, "cut.xlsx", data[:len(data)/2]), Options{})
	if res.err == nil || !strings.Contains(res.err.Error(), "not a readable .xlsx workbook (truncated or damaged?)") {
		t.Fatalf("cut xlsx: %v", res.err)
	}
	// An old .xls.
	res, _ = readFile(t, writeFile(t, "old.xls", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}), Options{})
	if res.err == nil || !strings.Contains(res.err.Error(), "save it as .xlsx or CSV") {
		t.Fatalf("xls: %v", res.err)
	}
	// An empty file.
	res, _ = readFile(t, writeFile(t, "empty.csv", nil), Options{})
	if res.err == nil || !strings.Contains(res.err.Error(), "empty file") {
		t.Fatalf("empty: %v", res.err)
	}
}

func TestXLSXSheetsAndCells(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "e.xlsx")
	chineseXLSX(t, path, true)
	// Without --sheet the first sheet (说明, empty) is read: no header there.
	res, _ := readFile(t, path, Options{})
	if res.err == nil || !strings.Contains(res.err.Error(), "empty file") {
		t.Fatalf("first sheet: %v", res.err)
	}
	res, _ = readFile(t, path, Options{Sheet: "nope"})
	if res.err == nil || !strings.Contains(res.err.Error(), `no sheet "nope" in the workbook (sheets: 说明, 销售明细)`) {
		t.Fatalf("no sheet: %v", res.err)
	}
	// Excel's ways with numbers: an ID number stored as a number (its last digits lost),
	// float noise in amounts, an amount with a third decimal, date serials (with a time of
	// day), a yyyymmdd date, numbers as text.
	header := []string{"销售单号", "身份证号", "销售日期", "商品编码", "数量", "金额"}
	key := strings.Repeat("0f", 16)
	rows := [][]any{
		{"A1", key, 46174, "D1", 1, 12.300000000000001},
		{"A2", 1.1010519491231e17, 46174, "D1", 1, 1},
		{"A3", key, 46174, "D1", 1, "12.345"},
		{"A4", key, "20260601", "D1", "2", "3.999999999999"},
		{"A5", key, 46174.75, "D1", 1, nil},
		{10001, key, 46174, 6901234567892, 1, 0},
	}
	writeXLSX(t, path, "Sheet1", false, header, rows)
	res, _ = readFile(t, path, Options{Store: "S1"})
	if res.err != nil || len(res.rows) != 4 || len(res.rejected) != 2 {
		t.Fatalf("%+v", res)
	}
	if p := res.rows[0]; *p.AmountFen != 1230 || !p.SoldAt.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, flows.Shanghai())) {
		t.Errorf("float noise / serial: %s", dump(p))
	}
	if p := res.rows[1]; *p.AmountFen != 400 || p.Quantity != 2 || p.ID != "S1:A4:D1" {
		t.Errorf("row A4: %s", dump(p))
	}
	if p := res.rows[2]; p.AmountFen != nil || !p.SoldAt.Equal(time.Date(2026, 6, 1, 18, 0, 0, 0, flows.Shanghai())) {
		t.Errorf("row A5: %s", dump(p))
	}
	if p := res.rows[3]; p.ID != "S1:10001:6901234567892" || *p.AmountFen != 0 {
		t.Errorf("numbers as ids: %s", dump(p))
	}
	for i, want := range []string{
		"row 4: 身份证号 (id_number_or_customer_key): " + resolveErrText,
		"row 5: 金额 (amount): \"12.345\" has more than 2 decimals",
	} {
		if !strings.HasPrefix(res.rejected[i].Error(), want) {
			t.Errorf("rejection %d = %q, want %q", i, res.rejected[i], want)
		}
	}
}

func TestReaderProgressAndClose(t *testing.T) {
	data := []byte(chineseText(","))
	path := writeFile(t, "e.csv", data)
	rd, err := Open(path, Options{StoreColumn: true, ResolveCustomer: resolveBoth, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := rd.Next(context.Background()); errors.Is(err, io.EOF) {
			break
		}
	}
	if done, total := rd.Progress(); done != int64(len(data)) || total != int64(len(data)) {
		t.Fatalf("progress %d/%d, want %d", done, total, len(data))
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rd.Close(); err != nil {
		t.Fatal("second close:", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.csv"), Options{ResolveCustomer: resolveBoth}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

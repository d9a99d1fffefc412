package posexport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/pharmachain/counter/flows"
)

// digitRun finds what must never be printed: 15 or more digits in a row.
var digitRun = regexp.MustCompile(`[0-9]{15,}`)

// reportOf reads a file the way the import commands do and returns the full report.
func reportOf(t *testing.T, path string, opt Options) (*Report, string, error) {
	t.Helper()
	opt.ResolveCustomer = resolveBoth
	opt.Now = testNow
	rep := &Report{File: filepath.Base(path)}
	rd, err := Open(path, opt)
	if err != nil {
		return rep, "", err
	}
	defer rd.Close()
	err = rd.Each(context.Background(), func(p flows.Purchase) error {
		rep.Valid++
		rep.Imported++
		if strings.HasPrefix(p.DrugCode, "X-") {
			rep.Unknown(p.DrugCode)
		}
		return nil
	}, rep.Reject)
	if err != nil {
		rep.Stopped = err.Error()
	}
	rep.FromReader(rd)
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return rep, b.String(), nil
}

func TestRawIDInErrorPositionsNeverPrinted(t *testing.T) {
	// The raw ID lands where a cell is quoted or stored: the columns are mixed up, a
	// row is shifted, the ID is in the header row, the kind column, the amount …
	other := "440524188001010014"
	text := "销售单号,身份证号,销售日期,商品编码,数量,金额,小票号,类别,商品名称,用药天数\n" +
		rawID + ",X,2026-06-01,D1,1,1,,,,\n" + // sale id
		"2," + rawID + "," + other + ",D1,1,1,,,,\n" + // date
		"3," + rawID + ",2026-06-01," + other + ",1,1,,,,\n" + // drug code
		"4," + rawID + ",2026-06-01,D1," + other + ",1,,,,\n" + // quantity
		"5," + rawID + ",2026-06-01,D1,1," + other + ",,,,\n" + // amount
		"6," + rawID + ",2026-06-01,D1,1,1," + other + ",,,\n" + // receipt
		"7," + rawID + ",2026-06-01,D1,1,1,,,购药人" + other + ",\n" + // name
		"8," + rawID + ",2026-06-01,D1,1,1,,,," + other + "\n" + // days
		"9," + rawID + "0,2026-06-01,D1,1,1,,,,\n" + // a 19-digit customer cell
		"10," + rawID + ",2026-06-01,D1,1,1,,,,\n" + // good
		"11," + other + ",2026-06-01,D1,1,1,," + rawID + ",,\n" + // kind: unknown value
		"12," + rawID + ",2026-06-01,D1,1,1,,,,," + other + "\n" // extra cell: ignored
	path := writeFile(t, "ids.csv", []byte(text))
	rep, out, err := reportOf(t, path, Options{Store: "S1", DrugColumns: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 12 || rep.Valid != 3 || rep.Rejected != 9 {
		t.Fatalf("report:\n%s", out)
	}
	for _, want := range []string{
		"line 2: 销售单号 (sale_id): holds what looks like an ID number (not shown)",
		`line 3: 销售日期 (date): "4405**********0014" is not a date`,
		"line 4: 商品编码 (drug_code): holds what looks like an ID number",
		`line 5: 数量 (quantity): "4405**********0014" is more than 100000`,
		`line 6: 金额 (amount): "4405**********0014" is too large an amount`,
		"line 7: 小票号 (receipt_id): holds what looks like an ID number",
		"line 8: 商品名称 (name): holds what looks like an ID number",
		`line 9: 用药天数 (days_supply): "4405**********0014" is not a whole number of days`,
		"line 10: 身份证号 (id_number_or_customer_key): " + resolveErrText,
		`kind values not known, the catalog's kind used (rows): "1101**********002X" (1)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if m := digitRun.FindString(out); m != "" {
		t.Fatalf("report holds a raw number %s…:\n%s", m[:4], out)
	}
	// The ID as the header row (a file without one) and in a workbook.
	_, err = Open(writeFile(t, "noheader.csv", []byte("1,"+rawID+",2026-06-01,D1,1\n")), Options{Store: "S1", ResolveCustomer: resolveBoth, Now: testNow})
	if err == nil || !strings.Contains(err.Error(), `"1101**********002X"`) || digitRun.MatchString(err.Error()) {
		t.Fatalf("header error: %v", err)
	}
	xlsx := filepath.Join(t.TempDir(), "ids.xlsx")
	writeXLSX(t, xlsx, "S", false, []string{"销售单号", "身份证号", "销售日期", "商品编码", "数量"}, [][]any{
		{rawID, rawID, 46174, "D1", 1},
		{"2", rawID, 46174, "D1", rawID},
		{"3", rawID, rawID, "D1", 1},
	})
	_, out, err = reportOf(t, xlsx, Options{Store: "S1"})
	if err != nil || !strings.Contains(out, "3 rejected") || digitRun.MatchString(out) {
		t.Fatalf("xlsx report (%v):\n%s", err, out)
	}
}

func TestReportText(t *testing.T) {
	var b strings.Builder
	b.WriteString("标题\n销售单号,身份证号,销售日期,商品编码,数量\n")
	key := strings.Repeat("0f", 16)
	for i := range 30 {
		b.WriteString(strings.Repeat("x", i%2) + "1," + key + ",2026-06-01,X-" + string(rune('A'+i%25)) + ",0\n")
	}
	b.WriteString("2," + key + ",2026-13-01,D1,1\n3," + key + ",2026-06-01,X-NEW,1\n合计,,,,2\n")
	rep, out, err := reportOf(t, writeFile(t, "r.csv", []byte(b.String())), Options{Store: "S1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.ByColumn(); got["数量 (quantity)"] != 30 || got["销售日期 (date)"] != 1 || len(rep.Errors()) != MaxReportErrors {
		t.Fatalf("by column %v, %d errors", got, len(rep.Errors()))
	}
	for _, want := range []string{
		"r.csv: 32 rows read, 1 added, 0 duplicates, 31 rejected, 1 of unknown drugs, 1 total rows skipped\n",
		"format: CSV, UTF-8\n",
		"columns: sale_id ← 销售单号; id_number_or_customer_key ← 身份证号; date ← 销售日期; drug_code ← 商品编码; quantity ← 数量\n",
		"rejected rows by column:\n  数量 (quantity): 30\n  销售日期 (date): 1\n",
		"first 20 of 31 rejected rows:\n  line 3: 数量 (quantity): \"0\" is not a number > 0\n",
		"drug codes the catalog does not know (rows): X-NEW (1)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	rep.DryRun = true
	if s := rep.Summary(); !strings.Contains(s, "32 rows read, 1 valid (dry run: nothing stored), 31 rejected") {
		t.Errorf("dry-run summary %q", s)
	}
	// A read that stops says so.
	rep = &Report{File: "x.csv", Stopped: "line 7: chain secret missing"}
	var sb strings.Builder
	_ = rep.WriteText(&sb)
	if !strings.Contains(sb.String(), "STOPPED: line 7: chain secret missing") {
		t.Errorf("stopped: %s", sb.String())
	}
	// Many distinct unknown codes: the first 20 named, the rest counted.
	rep = &Report{}
	for i := range 25 {
		rep.Unknown("C" + string(rune('a'+i)))
	}
	sb.Reset()
	_ = rep.WriteText(&sb)
	if rep.UnknownCodes != 25 || !strings.Contains(sb.String(), "and 5 rows of other codes") {
		t.Errorf("codes: %s", sb.String())
	}
}

func TestProgressOnATerminalOnly(t *testing.T) {
	var b strings.Builder
	b.WriteString(hdr)
	key := strings.Repeat("0f", 16)
	for i := range 2000 {
		b.WriteString("1," + key + ",2026-06-01,D" + string(rune('A'+i%26)) + ",1,\n")
	}
	path := writeFile(t, "p.csv", []byte(b.String()))
	read := func(w io.Writer) {
		rd, err := Open(path, Options{Store: "S1", ResolveCustomer: fakeResolve, Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		p := NewProgress(w, "p.csv", rd)
		if p != nil {
			p.every = 0 // every row, so that this small file shows it
		}
		for {
			if _, err := rd.Next(context.Background()); errors.Is(err, io.EOF) {
				break
			}
			p.Update()
		}
		p.Done()
	}
	// Not a terminal: a buffer, a file, a pipe get nothing.
	var buf bytes.Buffer
	read(&buf)
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	read(f)
	f.Close()
	if buf.Len() != 0 || NewProgress(f, "x", nil) != nil {
		t.Fatal("progress written to a non-terminal")
	}
	// A real terminal (a pseudo-terminal pair).
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptm.Close()
	got := make(chan string, 1)
	go func() {
		all, _ := io.ReadAll(ptm)
		got <- string(all)
	}()
	read(tty)
	tty.Close()
	var out string
	select {
	case out = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no output from the pty")
	}
	if !strings.Contains(out, "\rp.csv: 2000 rows, 100% of ") || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Fatalf("terminal output %q", out[max(0, len(out)-200):])
	}
}

package posexport

import (
	"os"
	"strings"
	"testing"
)

func TestAliasesAreUnambiguous(t *testing.T) {
	seen := map[string]string{}
	for _, c := range columnTable {
		for _, a := range append([]string{c.name}, c.aliases...) {
			n := normHeader(a)
			if prev, ok := seen[n]; ok && prev != c.name {
				t.Errorf("header %q is an alias of both %s and %s", a, prev, c.name)
			}
			seen[n] = c.name
		}
	}
	if got := ColumnAliases(); len(got) != len(columnTable) || got[0][0] != ColSale || got[0][1] != "销售单号" {
		t.Fatalf("ColumnAliases = %v", got)
	}
}

func TestHeaderNormalisation(t *testing.T) {
	for in, want := range map[string]string{
		" Sale_ID ":  "saleid",
		"销售 单号":      "销售单号",
		"金额（元）":      "金额(元)",
		"*数量":        "数量",
		"ＡＴＣ编码":      "atc编码",
		"\ufeff门店编码": "门店编码",
	} {
		if got := normHeader(in); got != want {
			t.Errorf("normHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMappingFile(t *testing.T) {
	key := strings.Repeat("0f", 16)
	m, err := ParseColumns(strings.NewReader(`{"sale_id": "单据流水", "id_number": ["会员证件", "卡号"], "drug_code": "国家医保编码", "amount_fen": "金额分"}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m[ColCustomer], ",") != "会员证件,卡号" || m[ColSale][0] != "单据流水" {
		t.Fatalf("mapping %v", m)
	}
	// The mapping wins over the aliases: 商品编码 is ignored, 国家医保编码 is the code.
	text := "单据流水,会员证件,卡号,销售日期,商品编码,国家医保编码,数量,金额分,金额\n" +
		"1,," + rawID + ",2026-06-01,P1,XA01,1,1250,99\n" +
		"2," + key + ",,2026-06-01,P2,XB02,1,,99\n"
	res := readAll(t, text, Options{Store: "S1", Columns: m})
	if res.err != nil || len(res.rows) != 2 {
		t.Fatalf("%+v", res)
	}
	if p := res.rows[0]; p.ID != "S1:1:XA01" || p.CustomerKey != strings.Repeat("ab", 16) || *p.AmountFen != 1250 {
		t.Errorf("row 1 %s", dump(p))
	}
	// A fen column is mapped: the yuan one (金额) is not read even where fen is empty.
	if p := res.rows[1]; p.ID != "S1:2:XB02" || p.AmountFen != nil {
		t.Errorf("row 2 %s", dump(p))
	}

	for in, want := range map[string]string{
		`[1]`:              "want a JSON object",
		`{"colour": "颜色"}`: `unknown column "colour" (want one of sale_id, store_id`,
		`{"sale_id": 3}`:   "sale_id: want a header",
		`{"sale_id": []}`:  "sale_id: no header given",
		`{"sale_id": " "}`: "sale_id: empty header",
		`{"id_number": "a", "customer_key": "b"}`: "id_number_or_customer_key given twice",
	} {
		if _, err := ParseColumns(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
	// A mapped header the file lacks: one error naming it and the headers found.
	res = readAll(t, hdr, Options{Store: "S1", Columns: map[string][]string{ColSale: {"单据号"}}})
	if res.err == nil || !strings.Contains(res.err.Error(), `column mapping names headers the file does not have: sale_id → "单据号"; headers found: "sale_id", "id_number_or_customer_key"`) {
		t.Fatalf("absent mapped header: %v", res.err)
	}
	// A mapping key that is not a column, given straight in Options.
	res = readAll(t, hdr, Options{Store: "S1", Columns: map[string][]string{"colour": {"x"}}})
	if res.err == nil || !strings.Contains(res.err.Error(), `unknown column "colour"`) {
		t.Fatalf("bad option: %v", res.err)
	}
}

func TestHeaderRowSearchAndMissingColumns(t *testing.T) {
	key := strings.Repeat("0f", 16)
	// Title lines, an empty line and a line of commas above the header row.
	res := readAll(t, "连锁药房销售明细\n导出时间：2026-06-10\n\n,,,,\n销售单号,身份证号,销售日期,商品编码,数量\n1,"+key+",2026-06-01,D1,1\n合计,,,,1\n", Options{Store: "S1"})
	if res.err != nil || len(res.rows) != 1 || res.rows[0].ID != "S1:1:D1" || res.read != 1 {
		t.Fatalf("%+v", res)
	}
	// The rejections keep the file's line numbers.
	res = readAll(t, "销售明细\n销售单号,身份证号,销售日期,商品编码,数量\n1,"+key+",2026-06-01,D1,0\n", Options{Store: "S1"})
	if len(res.rejected) != 1 || !strings.HasPrefix(res.rejected[0].Error(), `line 3: 数量 (quantity): "0" is not a number > 0`) {
		t.Fatalf("%+v", res.rejected)
	}
	// Missing required columns: one error with what is missing, what was found and
	// what is accepted.
	res = readAll(t, "单据,证件,日期时间,编码,数量\n", Options{Store: "S1"})
	e := ""
	if res.err != nil {
		e = res.err.Error()
	}
	for _, want := range []string{
		"header row lacks sale_id, id_number_or_customer_key, drug_code.",
		`Headers found: "单据", "证件", "日期时间", "编码", "数量".`,
		"sale_id = 销售单号|销售单据号|单据号",
		"drug_code = 商品编码|",
		"--columns FILE",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("error lacks %q:\n%s", want, e)
		}
	}
	if strings.Contains(e, "quantity =") || strings.Contains(e, "date =") {
		t.Errorf("error names columns that are there:\n%s", e)
	}
}

func TestAmountsKindsAndReceipts(t *testing.T) {
	key := strings.Repeat("0f", 16)
	text := "销售单号,身份证号,销售日期,商品编码,数量,金额,小票号,类别\n" +
		"1," + key + ",2026-06-01,D1,1,\"1,234.5\",R9,OTC\n" +
		"2," + key + ",2026-06-01,D1,1,￥0.07,,甲类非处方药\n" +
		"3," + key + ",2026-06-01,D1,1,12元,,中成药\n" +
		"4," + key + ",2026-06-01,D1,1,,,保健食品\n" +
		"5," + key + ",2026-06-01,D1,1,-3.00,,\n" +
		"6," + key + ",2026-06-01,D1,1,1.005,,\n" +
		"7," + key + ",2026-06-01,D1,1,1.2.3,,\n" +
		"8," + key + ",2026-06-01,D1,1,12,,特价商品\n" +
		"9," + key + ",2026-06-01,D1,1,\"12,34\",,Rx\n"
	res := readAll(t, text, Options{Store: "S1"})
	if res.err != nil || len(res.rows) != 5 || len(res.rejected) != 4 {
		t.Fatalf("%+v %v", res, res.rejected)
	}
	type want struct {
		fen     int64 // -1: nil
		kind    string
		receipt string
	}
	for i, w := range []want{{123450, "otc", "R9"}, {7, "otc", ""}, {1200, "", ""}, {-1, "nondrug", ""}, {1200, "", ""}} {
		p := res.rows[i]
		if (w.fen < 0) != (p.AmountFen == nil) || (p.AmountFen != nil && *p.AmountFen != w.fen) || p.Kind != w.kind || p.ReceiptID != w.receipt {
			t.Errorf("row %d = %s, want %+v", i, dump(p), w)
		}
	}
	for i, w := range []string{
		`line 6: 金额 (amount): "-3.00" is negative: returns and refunds are not imported`,
		`line 7: 金额 (amount): "1.005" has more than 2 decimals`,
		`line 8: 金额 (amount): "1.2.3" is not an amount in yuan`,
		`line 10: 金额 (amount): "12,34" is not an amount in yuan (thousands separators misplaced)`,
	} {
		if !strings.HasPrefix(res.rejected[i].Error(), w) {
			t.Errorf("rejection %d = %q, want %q", i, res.rejected[i], w)
		}
	}
	rd, err := NewReader(strings.NewReader(text), Options{Store: "S1", ResolveCustomer: fakeResolve, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := rd.Next(t.Context()); err != nil && err.Error() == "EOF" {
			break
		}
	}
	kinds, other := rd.UnknownKinds()
	if len(kinds) != 1 || kinds["特价商品"] != 1 || other != 0 {
		t.Fatalf("unknown kinds %v %d", kinds, other)
	}
}

// The operators' reference (docs/hq.md, "POS import") lists every built-in header.
func TestDocsListEveryAlias(t *testing.T) {
	doc, err := os.ReadFile("../../docs/hq.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(doc), "## POS import")
	if i < 0 {
		t.Fatal("docs/hq.md has no POS import section")
	}
	sec := string(doc[i:])
	for _, c := range ColumnAliases() {
		row := ""
		for _, line := range strings.Split(sec, "\n") {
			if strings.HasPrefix(line, "| `"+c[0]+"`") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("docs/hq.md: no table row for %s", c[0])
			continue
		}
		for _, a := range c[1:] {
			if !strings.Contains(row, "`"+a+"`") {
				t.Errorf("docs/hq.md: %s row lacks %q", c[0], a)
			}
		}
	}
}

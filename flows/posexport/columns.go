package posexport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Our columns (the names a --columns mapping file uses).
const (
	ColSale       = "sale_id"
	ColStore      = "store_id"
	ColCustomer   = "id_number_or_customer_key"
	ColDate       = "date"
	ColDrug       = "drug_code"
	ColQuantity   = "quantity"
	ColDaysSupply = "days_supply"
	ColAmount     = "amount"     // yuan (元), up to 2 decimals
	ColAmountFen  = "amount_fen" // fen (分), a whole number
	ColReceipt    = "receipt_id"
	ColKind       = "kind"
	ColIngredient = "ingredient"
	ColATC        = "atc"
	ColName       = "name"
)

// column is one of our columns and the headers that feed it, best first: when a file
// has several of them, a row's value is the first non-empty cell among them (身份证号,
// then 医保卡号 …).
type column struct {
	name     string
	required bool
	aliases  []string
}

// columnTable lists every column with its built-in header aliases. Chinese first: the
// names 海典 and similar POS systems put in their exports; then English ones.
var columnTable = []column{
	{ColSale, true, []string{"销售单号", "销售单据号", "单据号", "单据编号", "单号", "销售流水号", "流水号", "销售订单号", "订单号",
		"sale_id", "sale_no", "order_id"}},
	{ColStore, false, []string{"门店编码", "门店编号", "门店代码", "门店id", "店号", "机构编码", "门店",
		"store_id", "store_code", "store"}},
	{ColCustomer, true, []string{"身份证号", "身份证号码", "顾客身份证号", "会员身份证号", "证件号码", "证件号",
		"社会保障号码", "社保卡号", "医保卡号", "医保号",
		"id_number_or_customer_key", "id_number", "customer_key", "customer"}},
	{ColDate, true, []string{"销售日期", "销售时间", "交易日期", "交易时间", "单据日期", "结算时间", "日期时间", "日期",
		"date", "sold_at", "sale_date"}},
	{ColDrug, true, []string{"商品编码", "商品编号", "商品代码", "药品编码", "条形码", "商品条码", "条码",
		"国家医保编码", "医保编码", "医保药品编码", "医保目录编码",
		"drug_code", "product_code", "item_code", "gtin"}},
	{ColQuantity, true, []string{"数量", "销售数量", "销量", "件数", "quantity", "qty"}},
	{ColDaysSupply, false, []string{"用药天数", "服用天数", "可用天数", "天数", "days_supply"}},
	{ColAmount, false, []string{"实收金额", "实付金额", "成交金额", "销售金额", "金额", "金额(元)", "应收金额", "小计",
		"amount", "amount_yuan"}},
	{ColAmountFen, false, []string{"金额(分)", "实收金额(分)", "销售金额(分)", "amount_fen"}},
	{ColReceipt, false, []string{"小票号", "小票编号", "小票单号", "收银小票号", "receipt_id", "receipt_no", "receipt"}},
	{ColKind, false, []string{"处方类别", "药品类别", "处方药", "是否处方药", "处方药标识", "处方标志", "类别", "商品类别",
		"kind"}},
	{ColIngredient, false, []string{"通用名", "药品通用名", "通用名称", "成分", "ingredient"}},
	{ColATC, false, []string{"atc编码", "atc码", "atc"}},
	{ColName, false, []string{"商品名称", "药品名称", "品名", "商品名", "名称", "name"}},
}

// ColumnAliases returns our column names, each with its built-in header aliases (best
// first), in the order of the table in the package doc.
func ColumnAliases() [][]string {
	out := make([][]string, 0, len(columnTable))
	for _, c := range columnTable {
		out = append(out, append([]string{c.name}, c.aliases...))
	}
	return out
}

// normHeader folds a header cell for matching: NFKC (full-width letters, digits and
// brackets become ASCII), lower case, without spaces, '_', '-' and '*' (required-column
// markers).
func normHeader(h string) string {
	h = norm.NFKC.String(h)
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch r {
		case ' ', '\t', '\r', '\n', '\u3000', '\ufeff', '_', '-', '*':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ourColumn returns the canonical name for a mapping file's key: a column name or one
// of its English aliases (id_number → id_number_or_customer_key).
func ourColumn(key string) (string, bool) {
	k := normHeader(key)
	for _, c := range columnTable {
		if normHeader(c.name) == k {
			return c.name, true
		}
	}
	for _, c := range columnTable {
		for _, a := range c.aliases {
			if a[0] < 0x80 && normHeader(a) == k {
				return c.name, true
			}
		}
	}
	return "", false
}

// ParseColumns reads a --columns mapping file: a JSON object from our column names to
// the chain's header for it, e.g. {"sale_id": "单据号", "drug_code": "医保目录码"}. A
// value may also be a list of headers, best first.
func ParseColumns(r io.Reader) (map[string][]string, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("column mapping: want a JSON object {\"our column\": \"the file's header\"}: %w", err)
	}
	out := map[string][]string{}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, ok := ourColumn(k)
		if !ok {
			return nil, fmt.Errorf("column mapping: unknown column %q (want one of %s)", k, strings.Join(columnNames(), ", "))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("column mapping: %s given twice (%q)", name, k)
		}
		var one string
		var list []string
		if err := json.Unmarshal(raw[k], &one); err == nil {
			list = []string{one}
		} else if err := json.Unmarshal(raw[k], &list); err != nil {
			return nil, fmt.Errorf("column mapping: %s: want a header (a string) or a list of headers", k)
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("column mapping: %s: no header given", k)
		}
		for _, h := range list {
			if normHeader(h) == "" {
				return nil, fmt.Errorf("column mapping: %s: empty header", k)
			}
		}
		out[name] = list
	}
	return out, nil
}

func columnNames() []string {
	var out []string
	for _, c := range columnTable {
		out = append(out, c.name)
	}
	return out
}

// binding is which cells of a row feed one of our columns, best first.
type binding struct {
	idx     []int    // cell indexes
	headers []string // the file's header text of each
}

// layout is the result of matching a header row.
type layout struct {
	cols    map[string]binding
	ncells  int      // cells in the header row
	headers []string // the header row as found (for errors)
}

// bindHeader matches a header row against the mapping (first) and the aliases. It
// returns how many of the row's cells it recognised (to find the header row under title
// lines) and an error for a header repeated where it matters.
func bindHeader(header []string, opt *Options) (layout, int, error) {
	header = slices.Clone(header) // the CSV reader reuses its record
	lay := layout{cols: map[string]binding{}, ncells: len(header), headers: header}
	byNorm := map[string][]int{}
	for i, h := range header {
		n := normHeader(h)
		if n != "" {
			byNorm[n] = append(byNorm[n], i)
		}
	}
	used := map[int]bool{}
	known := 0
	take := func(col string, names []string, mapped bool) error {
		var b binding
		for _, name := range names {
			idx := byNorm[normHeader(name)]
			if len(idx) == 0 {
				continue
			}
			if len(idx) > 1 {
				return fmt.Errorf("header row: column %q given twice (cells %d and %d): name the one to use for %s in a --columns file",
					header[idx[0]], idx[0]+1, idx[1]+1, col)
			}
			if used[idx[0]] && !mapped {
				continue // a mapping gave this cell to another column
			}
			used[idx[0]] = true
			known++
			b.idx = append(b.idx, idx[0])
			b.headers = append(b.headers, strings.TrimSpace(header[idx[0]]))
		}
		if len(b.idx) > 0 {
			lay.cols[col] = b
		}
		return nil
	}
	// Mapped columns first: a mapping takes the header away from every alias.
	for _, c := range columnTable {
		if names, ok := opt.Columns[c.name]; ok && opt.wants(c.name) {
			if err := take(c.name, names, true); err != nil {
				return lay, known, err
			}
		}
	}
	for _, c := range columnTable {
		if _, ok := opt.Columns[c.name]; ok || !opt.wants(c.name) {
			continue
		}
		if err := take(c.name, c.aliases, false); err != nil {
			return lay, known, err
		}
	}
	// A fen column wins over a yuan one: it says exactly what it means.
	if _, ok := lay.cols[ColAmountFen]; ok {
		delete(lay.cols, ColAmount)
	}
	return lay, known, nil
}

// wants reports whether the reader takes this column at all with these options.
func (o *Options) wants(col string) bool {
	switch col {
	case ColStore:
		return o.StoreColumn
	case ColIngredient, ColATC, ColName:
		return o.DrugColumns
	}
	return true
}

// missingError is the one error for a header row without every required column: it
// names the missing ones with their aliases, the headers found and how to map them.
func missingError(lay layout, opt *Options, encodingNote string) error {
	var missing, accepted []string
	noStore := false
	for _, c := range columnTable {
		need := c.required
		if c.name == ColStore && opt.StoreColumn && opt.Store == "" {
			need = true
		}
		if !need || !opt.wants(c.name) {
			continue
		}
		if _, ok := lay.cols[c.name]; ok {
			continue
		}
		if c.name == ColStore {
			noStore = true
		}
		names := c.aliases
		if m, ok := opt.Columns[c.name]; ok {
			names = m
		}
		missing = append(missing, c.name)
		accepted = append(accepted, c.name+" = "+strings.Join(names, "|"))
	}
	if !opt.StoreColumn && opt.Store == "" {
		missing = append(missing, ColStore)
		accepted = append(accepted, ColStore+" = (give a store id)")
		noStore = true
	}
	if len(missing) == 0 {
		return nil
	}
	var found []string
	for _, h := range lay.headers {
		if h = strings.TrimSpace(h); h != "" {
			found = append(found, fmt.Sprintf("%q", safeText(h)))
		}
	}
	if len(found) == 0 {
		found = []string{"none"}
	}
	msg := fmt.Sprintf("header row lacks %s. Headers found: %s. Headers accepted: %s. Name other headers in a --columns FILE (JSON: {\"sale_id\": \"单据号\"})",
		strings.Join(missing, ", "), strings.Join(found, ", "), strings.Join(accepted, "; "))
	if encodingNote != "" {
		msg += ". Encoding: " + encodingNote
	}
	err := errors.New(msg)
	if noStore {
		err = fmt.Errorf("%w: %w", err, ErrNoStore)
	}
	return err
}

// mappedButAbsent checks that every header a mapping names is in the header row.
func mappedButAbsent(lay layout, opt *Options) error {
	var bad []string
	have := map[string]bool{}
	for _, h := range lay.headers {
		have[normHeader(h)] = true
	}
	for _, c := range columnTable {
		for _, h := range opt.Columns[c.name] {
			if !have[normHeader(h)] {
				bad = append(bad, fmt.Sprintf("%s → %q", c.name, h))
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	var found []string
	for _, h := range lay.headers {
		if h = strings.TrimSpace(h); h != "" && !slices.Contains(found, h) {
			found = append(found, fmt.Sprintf("%q", safeText(h)))
		}
	}
	return fmt.Errorf("column mapping names headers the file does not have: %s; headers found: %s",
		strings.Join(bad, ", "), strings.Join(found, ", "))
}

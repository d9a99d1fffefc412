package posimport

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// testSecret is the chain secret of these tests.
var testSecret = []byte("posimport-test-chain-secret-0123456789")

// idNumber is the i-th of a family of valid 18-character ID numbers (GB 11643 check
// character), all born 1950-01-01 .. in Beijing's 110105.
func idNumber(i int) string {
	body := fmt.Sprintf("110105%04d%02d%02d%03d", 1950+i/100000%50, 1+i/1000%12, 1+i/10%28, i%1000)
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k := 0; k < 17; k++ {
		sum += int(body[k]-'0') * w[k]
	}
	return body + string("10X98765432"[sum%11])
}

// exportSpec describes a generated POS export.
type exportSpec struct {
	Rows      int // sale lines
	Customers int // distinct customers (raw ID numbers)
	Stores    int
	BadEvery  int    // every n-th line has a quantity of 0 (rejected); 0: none
	Prefix    string // of sale ids (default X): another prefix, other purchases
}

// writeExport writes a GBK CSV export like a Chinese POS's: title line, Chinese headers,
// two lines per sale, yuan amounts, kinds, a total row. It streams: any size.
func writeExport(tb testing.TB, path string, s exportSpec) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(transform.NewWriter(f, simplifiedchinese.GBK.NewEncoder()), 1<<16)
	if err := writeExportTo(w, s); err != nil {
		tb.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

var genDrugs = []struct{ code, name, kind string }{
	{"POS-AML5", "苯磺酸氨氯地平片", "处方药"},
	{"POS-MET", "二甲双胍缓释片", "处方药"},
	{"POS-VAL80", "缬沙坦胶囊", "处方药"},
	{"6901234567892", "维生素C片", "甲类OTC"},
	{"X-BPM", "电子血压计", "医疗器械"},
}

func writeExportTo(w io.Writer, s exportSpec) error {
	if s.Customers <= 0 {
		s.Customers = 1
	}
	if s.Stores <= 0 {
		s.Stores = 1
	}
	if s.Prefix == "" {
		s.Prefix = "X"
	}
	if _, err := io.WriteString(w, "连锁药房销售明细报表\r\n门店编码,销售单号,小票号,销售日期,身份证号,商品编码,商品名称,数量,实收金额,处方类别,用药天数\r\n"); err != nil {
		return err
	}
	for i := 0; i < s.Rows; i++ {
		sale := i / 2
		d := genDrugs[i%len(genDrugs)]
		qty := 1 + i%3
		if s.BadEvery > 0 && i%s.BadEvery == s.BadEvery-1 {
			qty = 0
		}
		day := 1 + sale%28
		_, err := fmt.Fprintf(w, "S%03d,%s%d,R%d,2026/5/%d %02d:%02d:00,%s,%s,%s,%d,%d.%02d,%s,%d\r\n",
			1+sale%s.Stores, s.Prefix, sale, sale, day, 8+sale%12, sale%60, idNumber(sale%s.Customers), d.code, d.name, qty, 10+i%200, i%100, d.kind, 30)
		if err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "合计,,,,,,,,,,\r\n")
	return err
}

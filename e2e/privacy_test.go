package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/pharmachain/counter/flows/customerkey"
)

// Raw identifiers used as input below. None may appear in any file or log written.
var (
	rawIDs = []string{"11010519491231002X", "440524188001010014", "34052419800101001X", "513101198201130014"}
	// A well-formed number with a wrong check digit: rejected, and still never echoed.
	badID     = "110105194912310021"
	rawTokens = []string{"YBq8Wm2ZtK5nR7pL3xV9cD4h", "YB-demo_token-ABCDEFGHIJ012345"}
)

var kioskBin struct {
	path string
	err  error
	done bool
}

// kioskBinary builds cmd/kiosk (cgo: it links Fyne) once.
func kioskBinary(t *testing.T) string {
	t.Helper()
	if !kioskBin.done {
		kioskBin.done = true
		dir, err := os.MkdirTemp("", "e2e-kiosk-")
		if err == nil {
			kioskBin.path = filepath.Join(dir, "kiosk")
			cmd := exec.Command("go", "build", "-o", kioskBin.path, "github.com/pharmachain/counter/cmd/kiosk")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
			if out, berr := cmd.CombinedOutput(); berr != nil {
				err = fmt.Errorf("go build cmd/kiosk: %v\n%s", berr, out)
			}
		}
		kioskBin.err = err
	}
	if kioskBin.err != nil {
		t.Fatal(kioskBin.err)
	}
	return kioskBin.path
}

// TestNoRawIdentifierWritten feeds raw ID numbers and insurance tokens through every
// path that takes them — POS imports at the kiosk and at HQ, a serial scanner, the
// kiosk→HQ sync — then reads every byte of every bbolt file and log written and fails if
// any raw identifier is there.
func TestNoRawIdentifierWritten(t *testing.T) {
	b := binaries(t)
	kiosk := kioskBinary(t)
	kioskDir, hqDir, work := t.TempDir(), t.TempDir(), t.TempDir()
	var logs bytes.Buffer
	secret := []byte("privacy-test-chain-secret-0123456789")
	secretFile := filepath.Join(work, "chain.secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}

	// POS exports with raw IDs (one with a lower-case x, one with a wrong check digit).
	var csv strings.Builder
	csv.WriteString("sale_id,id_number_or_customer_key,date,drug_code,quantity,days_supply\n")
	day := time.Now().AddDate(0, 0, -10).Format("2006-01-02")
	for i, id := range append(append([]string{}, rawIDs...), strings.ToLower(rawIDs[0]), badID) {
		fmt.Fprintf(&csv, "SALE-%d,%s,%s,6901234567892,1,30\n", i, id, day)
	}
	csvFile := filepath.Join(work, "pos.csv")
	if err := os.WriteFile(csvFile, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// run runs a command; okExit lists exit codes that are expected (an import with a
	// rejected row exits 1 after importing the rest).
	run := func(okExit int, name string, args ...string) string {
		var out, errb bytes.Buffer
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		logs.Write(out.Bytes())
		logs.Write(errb.Bytes())
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != okExit) {
			t.Fatalf("%s %v: %v\n%s%s", filepath.Base(name), args, err, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	kout := run(1, kiosk, "import-purchases", "--data", kioskDir, "--secret-file", secretFile, "--store", storeID, csvFile)
	if !strings.Contains(kout, "5 added") || !strings.Contains(kout, "1 rejected") {
		t.Fatalf("kiosk import: want 5 added and 1 rejected, got:\n%s", kout)
	}
	hout := run(1, b.hq, "import-purchases", "--data", hqDir, "--secret-file", secretFile, "--store", "S002", csvFile)
	if !strings.Contains(hout, "rejected") {
		t.Fatalf("hq import printed no summary:\n%s", hout)
	}

	// A serial scanner sends the raw IDs and insurance tokens.
	scanLog := scanThroughPTY(t, kiosk, secretFile, append(append([]string{}, rawIDs...), rawTokens...))
	logs.WriteString(scanLog)
	if strings.Count(scanLog, `"kind":"id_number"`) < len(rawIDs) || strings.Count(scanLog, `"kind":"insurance_qr"`) < len(rawTokens) {
		t.Fatalf("scan-test did not classify every frame:\n%s", scanLog)
	}

	// The kiosk's queued purchases travel to HQ.
	tok := setupHQ(t, b, hqDir)
	h := startHQ(t, b, hqDir, freeAddr(t))
	drainAll(t, b, kioskDir, "http://"+h.addr, tok)
	h.stop(t)
	logs.Write(h.logs.Bytes())
	logFile := filepath.Join(work, "all.log")
	if err := os.WriteFile(logFile, logs.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// Every byte written.
	needles := map[string][]byte{}
	for _, id := range append(append([]string{}, rawIDs...), badID) {
		needles["ID "+id] = []byte(id)
		needles["ID "+id+" (lower x)"] = []byte(strings.ToLower(id))
		needles["ID "+id+" (UTF-16)"] = utf16le(id)
	}
	for _, tk := range rawTokens {
		needles["token "+tk] = []byte(tk)
	}
	files := 0
	var keyFoundKiosk, keyFoundHQ bool
	key := customerkey.Hash(secret, rawIDs[1]).String()
	keyBin, _ := hex.DecodeString(key[:32])
	for _, dir := range []string{kioskDir, hqDir, work} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if path == csvFile || path == secretFile {
				return nil // the inputs themselves
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for what, n := range needles {
				if bytes.Contains(data, n) {
					t.Errorf("%s found in %s", what, path)
				}
			}
			if strings.HasPrefix(path, kioskDir) && bytes.Contains(data, []byte(key)) {
				keyFoundKiosk = true
			}
			if strings.HasPrefix(path, hqDir) && (bytes.Contains(data, []byte(key)) || bytes.Contains(data, keyBin)) {
				keyFoundHQ = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The scan proves it read real data: the keyed hash is there instead of the number.
	if !keyFoundKiosk || !keyFoundHQ {
		t.Errorf("customer key found: kiosk=%v hq=%v; the files scanned do not hold the imported purchases", keyFoundKiosk, keyFoundHQ)
	}
	t.Logf("scanned %d files (%d bytes of logs) for %d raw identifiers", files, logs.Len(), len(needles))
}

// scanThroughPTY runs `kiosk scan-test` on the slave of a PTY pair and writes frames.
func scanThroughPTY(t *testing.T, kiosk, secretFile string, frames []string) string {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	slaveName := slave.Name()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, kiosk, "scan-test", "--port", slaveName, "--secret-file", secretFile)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close() // the scan-test process opened its own handle
	time.Sleep(700 * time.Millisecond)
	for _, f := range frames {
		if _, err := master.Write([]byte(f + "\r\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	_ = cmd.Wait()
	return out.String()
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

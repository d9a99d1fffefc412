package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/devices/demogateway"
	"github.com/pharmachain/counter/flows/customerkey"
)

// scanTestRun starts runScanTest in-process on a PTY pair and returns the PTY master, a
// channel of decoded output lines, and a stop function returning the verb's error and stderr.
func scanTestRun(t *testing.T, extra ...string) (*os.File, <-chan map[string]any, func() (error, string)) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	link := filepath.Join(t.TempDir(), "ttyScanner")
	if err := os.Symlink(s.Name(), link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		err := runScanTest(ctx, append([]string{"--port", link}, extra...), pw, &stderr)
		pw.Close()
		done <- err
	}()
	lines := make(chan map[string]any, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				v = map[string]any{"_bad_json": sc.Text()}
			}
			v["_raw"] = sc.Text()
			lines <- v
		}
	}()
	stop := func() (error, string) {
		cancel()
		select {
		case err := <-done:
			for range lines {
			}
			return err, stderr.String()
		case <-time.After(5 * time.Second):
			t.Fatal("scan-test did not stop after cancel")
			return nil, ""
		}
	}
	return m, lines, stop
}

func scanTestNext(t *testing.T, lines <-chan map[string]any) map[string]any {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("output ended")
		}
		if b, ok := l["_bad_json"]; ok {
			t.Fatalf("not JSON: %v", b)
		}
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("no output line")
		return nil
	}
}

func TestScanTestOverPTY(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "chain.secret")
	os.WriteFile(secretFile, []byte("installer-test-secret-0123456789\n"), 0o600)
	m, lines, stop := scanTestRun(t, "--secret-file", secretFile, "--staff-prefix", "EMP-")

	if l := scanTestNext(t, lines); l["event"] != "device" || l["state"] != "connected" {
		t.Fatalf("first line %v, want device connected", l["_raw"])
	}
	const token = "YBsecretTOKEN0123456789"
	m.Write([]byte("11010519491231002X\r\n]E06901234567892\r\n81234560123456789012\r\n" +
		"]d20106901234567892172605311" + "0LOT1\x1d21SN9\r\nEMP-0042\r\n" + token + "\r\n" +
		"110105194912310021\r\n6901234567893\r\nbad\x00frame\r\n"))
	want := []map[string]any{
		{"kind": "id_number", "valid": true, "masked": "1101**********002X",
			"customer_key": customerkey.Hash([]byte("installer-test-secret-0123456789"), "11010519491231002X").String()},
		{"kind": "gtin", "valid": true, "code": "6901234567892", "symbology": "EAN-13"},
		{"kind": "trace_code", "valid": true, "code": "81234560123456789012"},
		{"kind": "gs1", "valid": true, "code": "06901234567892", "symbology": "GS1 DataMatrix"},
		{"kind": "staff_badge", "valid": true, "staff_id": "0042"},
		{"kind": "insurance_qr", "valid": true},
		{"kind": "id_number", "valid": false, "masked": "1101**********0021"},
		{"kind": "gtin", "valid": false, "code": "6901234567893"},
		{"kind": "unknown", "valid": false},
	}
	var raw []string
	for i, w := range want {
		l := scanTestNext(t, lines)
		raw = append(raw, l["_raw"].(string))
		for k, v := range w {
			if l[k] != v {
				t.Errorf("line %d: %s = %v, want %v (%s)", i, k, l[k], v, l["_raw"])
			}
		}
		if w["valid"] == false && l["error"] == nil {
			t.Errorf("line %d: invalid without error: %s", i, l["_raw"])
		}
	}
	m.Close() // unplug: the state change is printed too
	if l := scanTestNext(t, lines); l["event"] != "device" || l["state"] != "waiting" {
		t.Errorf("after unplug: %v, want device waiting", l["_raw"])
	}
	err, stderr := stop()
	if err != nil {
		t.Errorf("scan-test returned %v", err)
	}
	all := strings.Join(raw, "\n")
	for _, secret := range []string{"11010519491231002X", "110105194912310021", token} {
		if strings.Contains(all, secret) || strings.Contains(stderr, secret) {
			t.Errorf("output leaks %q", secret)
		}
	}
	if strings.Contains(stderr, "DEMO") {
		t.Errorf("demo warning with a secret file: %s", stderr)
	}
}

func TestScanTestDemoSecretAndUsage(t *testing.T) {
	m, lines, stop := scanTestRun(t, "--idle-gap", "30ms")
	if l := scanTestNext(t, lines); l["state"] != "connected" {
		t.Fatalf("first line %v", l["_raw"])
	}
	m.Write([]byte("513101198201130014")) // no suffix: ends after the idle gap
	l := scanTestNext(t, lines)
	if l["kind"] != "id_number" || l["customer_key"] != customerkey.Hash(devices.DemoSecret(), "513101198201130014").String() {
		t.Errorf("demo-secret frame: %v", l["_raw"])
	}
	err, stderr := stop()
	if err != nil {
		t.Errorf("err %v", err)
	}
	if !strings.Contains(stderr, "WARNING") || !strings.Contains(stderr, "DEMO chain secret") {
		t.Errorf("no demo warning on stderr: %q", stderr)
	}

	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	for _, c := range []struct {
		args  []string
		usage bool
		has   string
	}{
		{nil, true, "--port is required"},
		{[]string{"--port"}, true, "flag needs an argument"},
		{[]string{"--port", "/dev/x", "--baud", "12"}, true, "unsupported baud rate 12"},
		{[]string{"--port", "/dev/x", "--parity", "Q"}, true, "parity"},
		{[]string{"--port", "/dev/x", "--idle-gap", "soon"}, true, "invalid value"},
		{[]string{"--port", "/dev/x", "extra"}, true, "unexpected argument"},
		{[]string{"--port", "/dev/x", "--insurance-pattern", "("}, true, "insurance-pattern"},
		{[]string{"--port", "/dev/x", "--secret-file", short}, false, "holds 3 bytes"},
	} {
		var out, errb bytes.Buffer
		err := runScanTest(context.Background(), c.args, &out, &errb)
		if err == nil || errors.Is(err, errUsage) != c.usage || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%v: err %v (usage=%t), want %q usage=%t", c.args, err, errors.Is(err, errUsage), c.has, c.usage)
		}
		if out.Len() != 0 {
			t.Errorf("%v: output %q", c.args, out.String())
		}
	}
}

func TestScanTestResolvesInsurance(t *testing.T) {
	ids, names := demogateway.Data()
	gw := httptest.NewServer(demogateway.Handler(ids, names))
	defer gw.Close()
	m, lines, stop := scanTestRun(t, "--insurance-url", gw.URL)
	scanTestNext(t, lines) // connected
	m.Write([]byte("YBDEMO0000000000000002\rYBDEMO9999999999999999\r"))
	l := scanTestNext(t, lines)
	if l["kind"] != "id_number" || l["valid"] != true || l["masked"] != "4405**********0014" {
		t.Errorf("resolved: %v", l["_raw"])
	}
	l = scanTestNext(t, lines)
	if l["kind"] != "insurance_qr" || !strings.Contains(l["error"].(string), "医保凭证无法识别") {
		t.Errorf("unresolved: %v", l["_raw"])
	}
	if strings.Contains(l["_raw"].(string), "YBDEMO9999") {
		t.Errorf("token leaked: %v", l["_raw"])
	}
	stop()
}

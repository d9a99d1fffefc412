package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// freeAddr is a loopback address nobody listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// TestMetricsNotPublic: /metrics on HQ's address needs an admin token or
// the token of --metrics-token-file (Prometheus' authorization); without a token it is
// served only on --metrics-addr, a private (loopback) address, which serves nothing
// else. It fails on the code before the fix (/metrics answered anyone).
func TestMetricsNotPublic(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runHQ(t, "token", "create", "--data", dir, "--admin")
	if code != 0 {
		t.Fatal(errs)
	}
	admin := strings.TrimSpace(out)
	_, out, _ = runHQ(t, "token", "create", "--data", dir, "--store", "S001")
	store := strings.TrimSpace(out)
	tokFile := filepath.Join(t.TempDir(), "metrics.token")
	scrape := "prometheus-scrape-token-0123456789"
	if err := os.WriteFile(tokFile, []byte(scrape+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	private := freeAddr(t)
	s := startServe(t, serveConfig{dir: dir, metricsTokenFile: tokFile, metricsAddr: private})
	for _, c := range []struct {
		who, tok string
		want     int
	}{{"nobody", "", 401}, {"a forged token", "hqa_forged", 401}, {"a store token", store, 403}, {"the admin", admin, 200}, {"Prometheus", scrape, 200}} {
		if code, b := get(t, s.base+"/metrics", c.tok); code != c.want || (code == 200) != strings.Contains(string(b), "hq_http_requests_total") {
			t.Errorf("/metrics for %s: %d, want %d", c.who, code, c.want)
		}
	}
	if code, b := get(t, "http://"+private+"/metrics", ""); code != 200 || !strings.Contains(string(b), "hq_http_requests_total") {
		t.Fatalf("private metrics address: %d", code)
	}
	for _, p := range []string{"/", "/api/v1/points", "/healthz"} {
		if code, _ := get(t, "http://"+private+p, admin); code != 404 {
			t.Errorf("the metrics address serves %s: %d", p, code)
		}
	}
	if !strings.Contains(s.out.String(), "http://"+private+"/metrics") {
		t.Errorf("serve does not say where the metrics are: %s", s.out.String())
	}
	// An explicit --metrics-addr that cannot be had is an error, not a silent fallback.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if code, _, errs := runHQ(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--metrics-addr", busy.Addr().String()); code != 1 || !strings.Contains(errs, "--metrics-addr") {
		t.Fatalf("busy --metrics-addr: %d %s", code, errs)
	}
}

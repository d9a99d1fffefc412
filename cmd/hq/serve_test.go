package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/wire"
)

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestServeDemoAndGracefulStop(t *testing.T) {
	dir := t.TempDir()
	for round := 1; round <= 2; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		addr := make(chan string, 1)
		var out, errb syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- serve(ctx, serveConfig{dir: dir, addr: "127.0.0.1:0", demo: true, grace: 5 * time.Second,
				ready: func(a string) { addr <- a }}, &out, &errb)
		}()
		var base string
		select {
		case a := <-addr:
			base = "http://" + a
		case err := <-done:
			t.Fatalf("serve: %v\n%s", err, errb.String())
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not start")
		}
		wantAdded := "9 demo purchases added"
		if round == 2 {
			wantAdded = "0 demo purchases added (9 already there)"
		}
		if !strings.Contains(out.String(), wantAdded) || !strings.Contains(out.String(), DemoStoreToken) {
			t.Fatalf("round %d: %s", round, out.String())
		}
		if code, b := get(t, base+"/healthz", ""); code != 200 {
			t.Fatalf("healthz %d %s", code, b)
		}
		code, b := get(t, base+wire.PathRoster, DemoStoreToken)
		var ro wire.RosterResponse
		if code != 200 || json.Unmarshal(b, &ro) != nil || len(ro.Pharmacists) != 3 || ro.Pharmacists[0].PINHash == "" {
			t.Fatalf("roster %d %s", code, b)
		}
		secret, err := customerkey.LoadSecret(filepath.Join(dir, "chain.secret"))
		if err != nil {
			t.Fatal(err)
		}
		key := customerkey.Hash(secret, "11010519491231002X").String()
		code, b = get(t, base+"/api/v1/customers/"+key+"/history", DemoStoreToken)
		var hr wire.HistoryResponse
		if code != 200 || json.Unmarshal(b, &hr) != nil || len(hr.Adherence) != 1 {
			t.Fatalf("history %d %s", code, b)
		}
		if a := hr.Adherence[0]; a.Class != flows.ClassHypertension || a.Level != flows.LevelYellow || a.DaysWithoutSupply != 12 {
			t.Fatalf("demo customer 1: %+v", a)
		}
		resp, err := http.Post(base+"/demo/insurance", "application/json", strings.NewReader(`{"token":"YBDEMO0000000000000001"}`))
		if err != nil {
			t.Fatal(err)
		}
		gb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(gb), "11010519491231002X") {
			t.Fatalf("demo gateway %d %s", resp.StatusCode, gb)
		}
		cancel() // SIGTERM
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop")
		}
		if !strings.Contains(out.String(), "HQ stopped cleanly") {
			t.Fatal(out.String())
		}
	}
}

func TestServeBadFlags(t *testing.T) {
	if code, _, _ := runHQ(t, "serve", "--addr", "127.0.0.1:0"); code != 2 {
		t.Fatalf("no --data: exit %d", code)
	}
	if code, _, errs := runHQ(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--catalog", "/nonexistent.json"); code != 1 || !strings.Contains(errs, "catalog") {
		t.Fatalf("bad catalog: %d %s", code, errs)
	}
	if code, _, _ := runHQ(t, "nope"); code != 2 {
		t.Fatal("unknown verb")
	}
}

// TestServeSaysWhichChannelIsLive: `hq serve` says at start which
// follow-up channel is live; without WeCom and without --demo it is none (nothing is
// sent), the log-only channel only with --demo.
func TestServeSaysWhichChannelIsLive(t *testing.T) {
	s := startServe(t, serveConfig{dir: t.TempDir()})
	if !strings.Contains(s.out.String(), "follow-up channel: NONE") {
		t.Fatalf("production HQ without WeCom: %s", s.out.String())
	}
	s = startServe(t, serveConfig{dir: t.TempDir(), demo: true})
	if !strings.Contains(s.out.String(), "follow-up channel: log-only (demo)") {
		t.Fatalf("demo HQ: %s", s.out.String())
	}
}

// --trust-proxy names the proxies whose X-Forwarded-For HQ believes; the old
// --trust-forwarded-for (which believed anyone's) is refused with a pointer to it.
func TestServeProxyFlags(t *testing.T) {
	if code, _, errs := runHQ(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--trust-proxy", "nginx.local"); code != 2 || !strings.Contains(errs, "--trust-proxy") {
		t.Fatalf("bad --trust-proxy: %d %s", code, errs)
	}
	if code, _, errs := runHQ(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--trust-forwarded-for"); code != 2 || !strings.Contains(errs, "--trust-proxy CIDR") {
		t.Fatalf("--trust-forwarded-for: %d %s", code, errs)
	}
	s := startServe(t, serveConfig{dir: t.TempDir(), trustProxy: "127.0.0.1,10.0.0.0/8", publicURL: "https://hq.example.cn"})
	if code, _ := get(t, s.base+"/healthz", ""); code != 200 {
		t.Fatalf("healthz %d", code)
	}
}

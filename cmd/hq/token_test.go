package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

func TestTokenCreate(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runHQ(t, "token", "create", "--data", dir, "--store", "S001")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	storeTok := strings.TrimSpace(out)
	code, out, _ = runHQ(t, "token", "create", "--data", dir, "--admin")
	adminTok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(storeTok, "hqs_") || !strings.HasPrefix(adminTok, "hqa_") || storeTok == adminTok {
		t.Fatalf("tokens %q %q", storeTok, adminTok)
	}
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.LookupToken(context.Background(), hq.HashToken(storeTok))
	if err != nil || p.StoreID != "S001" || p.Admin {
		t.Fatalf("store token: %+v %v", p, err)
	}
	if p, err := st.LookupToken(context.Background(), hq.HashToken(adminTok)); err != nil || !p.Admin {
		t.Fatalf("admin token: %+v %v", p, err)
	}
	if _, err := st.LookupToken(context.Background(), storeTok); err == nil {
		t.Fatal("raw token stored")
	}
}

func TestTokenCreateUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"token"},
		{"token", "list"},
		{"token", "create", "--data", dir},
		{"token", "create", "--data", dir, "--store", "S1", "--admin"},
		{"token", "create", "--store", "S1"},
		{"token", "create", "--data", dir, "--bogus"},
	} {
		if code, out, errs := runHQ(t, args...); code != 2 || out != "" || errs == "" {
			t.Errorf("%v: exit %d out %q err %q; want usage error 2", args, code, out, errs)
		}
	}
}

// TestTokenLifeCycleWhileHQRuns: with HQ running (it holds hq.db), `hq token
// create|list|revoke --hq URL --token ADMIN` add a store, list the tokens (id first, then
// store/admin, label, created, last used) and revoke one — which answers 401 from the
// next request on and ends the dashboard sessions opened with it; --expires bounds a
// token's life; the same verbs work offline on the stopped HQ's data. It fails on the
// code before the fix (`hq token create` knew only --data, which the running HQ locks,
// and there was no list or revoke).
func TestTokenLifeCycleWhileHQRuns(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runHQ(t, "token", "create", "--data", dir, "--admin", "--label", "ops")
	if code != 0 {
		t.Fatalf("admin token: %d %s", code, errs)
	}
	adminTok := strings.TrimSpace(out)
	s := startServe(t, serveConfig{dir: dir})
	on := []string{"--hq", s.base, "--token", adminTok}

	code, out, errs = runHQ(t, append([]string{"token", "create", "--store", "S009", "--label", "new kiosk", "--expires", "90d"}, on...)...)
	storeTok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(storeTok, "hqs_") {
		t.Fatalf("create while HQ runs: %d %q %s", code, out, errs)
	}
	if code, b := get(t, s.base+"/api/v1/points?store_id=S009", storeTok); code != 200 {
		t.Fatalf("the new store's token: %d %s", code, b)
	}
	code, out, errs = runHQ(t, append([]string{"token", "create", "--admin", "--label", "temp admin"}, on...)...)
	tempAdmin := strings.TrimSpace(out)
	if code != 0 {
		t.Fatalf("second admin: %d %s", code, errs)
	}
	// The list: id first, then who, label, created, last used (the uses are written in
	// batches: wait for the one that carries the store token's request).
	var storeLine string
	deadline := time.Now().Add(30 * time.Second)
	for storeLine == "" || !strings.Contains(storeLine, "used=") {
		code, out, errs = runHQ(t, append([]string{"token", "list"}, on...)...)
		if code != 0 {
			t.Fatalf("list: %d %s", code, errs)
		}
		storeLine = ""
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(l, "store=S009") {
				storeLine = l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store token's line never showed its use: %q\n%s", storeLine, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	f := strings.Split(storeLine, "\t")
	if len(f) < 6 || len(f[0]) != hq.TokenIDLen || f[1] != "store=S009" || f[2] != `"new kiosk"` || !strings.HasPrefix(f[3], "created=") ||
		!strings.HasPrefix(f[4], "used=") || !strings.HasPrefix(f[5], "expires=") || strings.Contains(out, storeTok) || strings.Contains(out, adminTok) {
		t.Fatalf("list line %q (want id, store=S009, label, created, used, expires; never a token)\n%s", storeLine, out)
	}
	if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines != 3 {
		t.Fatalf("list has %d lines, want 3:\n%s", lines, out)
	}
	// A dashboard session of the temporary admin, then both tokens revoked.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	signIn(t, browser, s.base, tempAdmin)
	if page := dashboardPage(t, browser, s.base); !strings.Contains(page, "signout") {
		t.Fatal("not signed in")
	}
	for _, tok := range []string{storeTok, tempAdmin} {
		code, out, errs = runHQ(t, append([]string{"token", "revoke", hq.TokenID(hq.HashToken(tok))}, on...)...)
		if code != 0 || !strings.Contains(out, "revoked=") {
			t.Fatalf("revoke: %d %q %s", code, out, errs)
		}
	}
	if code, _ := get(t, s.base+"/api/v1/points?store_id=S009", storeTok); code != 401 {
		t.Fatalf("the revoked store token: %d, want 401 at once", code)
	}
	if page := dashboardPage(t, browser, s.base); strings.Contains(page, "signout") || !strings.Contains(page, `name="token"`) {
		t.Fatal("the dashboard session of a revoked admin token is still open")
	}
	if code, _, errs := runHQ(t, append([]string{"token", "revoke", "000000000000"}, on...)...); code != 1 || !strings.Contains(errs, "404") {
		t.Fatalf("unknown id: %d %s", code, errs)
	}
	s.stop(t)

	// Offline, on the stopped HQ's data.
	code, out, errs = runHQ(t, "token", "list", "--data", dir)
	if code != 0 || strings.Count(out, "revoked=") != 2 || !strings.Contains(out, "admin\t\"ops\"") {
		t.Fatalf("offline list: %d %s %s", code, out, errs)
	}
	adminID := strings.Split(out, "\t")[0]
	if code, out, errs = runHQ(t, "token", "revoke", "--data", dir, adminID); code != 0 || !strings.Contains(out, "revoked=") {
		t.Fatalf("offline revoke: %d %s %s", code, out, errs)
	}
	// Expiry: a token past its --expires is refused like an unknown one.
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old, err := hq.CreateToken(context.Background(), st, hq.Principal{StoreID: "S001", CreatedAt: time.Now().Add(-48 * time.Hour), ExpiresAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hq.CheckToken(context.Background(), st, old, time.Now()); !errors.Is(err, hq.ErrNotFound) {
		t.Fatalf("an expired token: %v", err)
	}
}

// signIn signs a browser in to the dashboard with token.
func signIn(t *testing.T, c *http.Client, base, token string) {
	t.Helper()
	page := dashboardPage(t, c, base)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", page)
	}
	resp, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func dashboardPage(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

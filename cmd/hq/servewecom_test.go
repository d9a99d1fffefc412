package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq/server"
	"github.com/pharmachain/counter/sync/hq/wecom/wecomtest"
)

const testCallbackAESKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

// `hq serve` with the WeCom callback flags answers WeCom's URL verification at
// /wecom/callback (no bearer token) and rejects a forged one.
func TestServeWeComCallback(t *testing.T) {
	dir := t.TempDir()
	keyFile, secretFile := filepath.Join(dir, "cb.key"), filepath.Join(dir, "wecom.secret")
	if err := os.WriteFile(keyFile, []byte(testCallbackAESKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("sec\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := wecomtest.New("wwCORP01", "sec")
	defer fake.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	errb := &syncBuffer{}
	go func() {
		done <- serve(ctx, serveConfig{dir: dir, addr: "127.0.0.1:0", grace: 5 * time.Second, dispatchInterval: time.Second,
			wecomCorpID: "wwCORP01", wecomSecretFile: secretFile, wecomBaseURL: fake.URL,
			wecomCallbackToken: "cbTOKEN", wecomCallbackAESKeyFile: keyFile,
			ready: func(a string) { addr <- a }}, io.Discard, errb)
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
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cb := wecomtest.Callbacker{Token: "cbTOKEN", EncodingAESKey: testCallbackAESKey, CorpID: "wwCORP01"}
	u, _ := cb.VerifyURL(base+server.PathWeComCallback, "hello-wecom")
	if code, body := get(u); code != 200 || body != "hello-wecom" {
		t.Fatalf("url verification: %d %q", code, body)
	}
	cb.Token = "wrong"
	u, _ = cb.VerifyURL(base+server.PathWeComCallback, "hello-wecom")
	if code, _ := get(u); code != 403 {
		t.Fatalf("forged url verification: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestServeWeComCallbackFlags(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "cb.key")
	_ = os.WriteFile(keyFile, []byte("too-short\n"), 0o600)
	secretFile := filepath.Join(dir, "wecom.secret")
	_ = os.WriteFile(secretFile, []byte("sec\n"), 0o600)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--wecom-callback-token", "t"}, 2, "go together"},
		{[]string{"--wecom-callback-aes-key-file", keyFile}, 2, "go together"},
		{[]string{"--wecom-callback-token", "t", "--wecom-callback-aes-key-file", keyFile}, 2, "--wecom-corp-id"},
		{[]string{"--wecom-callback-token", "t", "--wecom-callback-aes-key-file", filepath.Join(dir, "none"),
			"--wecom-corp-id", "ww", "--wecom-secret-file", secretFile}, 1, "wecom callback key"},
		{[]string{"--wecom-callback-token", "t", "--wecom-callback-aes-key-file", keyFile,
			"--wecom-corp-id", "ww", "--wecom-secret-file", secretFile}, 1, "EncodingAESKey"},
	} {
		args := append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, c.args...)
		code, _, errs := runHQ(t, args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

package faultproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestModes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	defer srv.Close()
	p, err := New(strings.TrimPrefix(srv.URL, "http://"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}

	get := func() (*http.Response, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.URL(), nil)
		return client.Do(req)
	}

	resp, err := get()
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" {
		t.Fatalf("pass: body %q", b)
	}

	p.SetMode(Unavailable)
	p.SetRetryAfter(3600)
	resp, err = get()
	if err != nil {
		t.Fatalf("503: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3600" {
		t.Fatalf("503 mode: got %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	p.SetMode(Pause)
	if _, err = get(); err == nil {
		t.Fatal("pause: want a client timeout, got an answer")
	}

	p.SetMode(Drop)
	if _, err = get(); err == nil {
		t.Fatal("drop: want a connection error, got an answer")
	}

	p.SetMode(Pass)
	resp, err = get()
	if err != nil {
		t.Fatalf("pass again: %v", err)
	}
	resp.Body.Close()
	for _, m := range []Mode{Pass, Unavailable, Pause, Drop} {
		if p.Count(m) == 0 {
			t.Errorf("mode %v handled no connection", m)
		}
	}
}

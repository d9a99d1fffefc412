package server

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pharmachain/counter/sync/hq/clientip"
)

// signIn tries the dashboard sign-in with token from client (X-Forwarded-For, if not
// empty) and returns the status.
func (h *testHQ) signIn(t *testing.T, token, client string) (int, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get, _ := http.NewRequest("GET", h.srv.URL+"/", nil)
	if client != "" {
		get.Header.Set("X-Forwarded-For", client)
	}
	resp, err := c.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64<<10)
	n, _ := resp.Body.Read(b)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b[:n])
	if m == nil {
		t.Fatalf("no sign-in form")
	}
	post, _ := http.NewRequest("POST", h.srv.URL+"/login", strings.NewReader(url.Values{"csrf": {string(m[1])}, "token": {token}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client != "" {
		post.Header.Set("X-Forwarded-For", client)
	}
	resp, err = c.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp
}

// TestBehindTrustedProxy: behind nginx (a trusted proxy) the sign-in
// failure limit is per client — ten bad guesses from one address do not lock out the
// admin at another —, while X-Forwarded-For from a peer that is not a trusted proxy is
// ignored (a guesser cannot escape the limit by inventing addresses); the audit names
// the client. It fails on the code before the fix (--trust-forwarded-for believed the
// header from any peer, so a guesser inventing addresses was never limited; without it
// every client behind the proxy shared one failure count).
func TestBehindTrustedProxy(t *testing.T) {
	trust, err := clientip.Parse("127.0.0.1,::1")
	if err != nil {
		t.Fatal(err)
	}
	h := startHQ(t, Config{TrustProxy: trust})
	for i := range 10 {
		if code, _ := h.signIn(t, "hqa_wrong", "198.51.100.66"); code != http.StatusUnauthorized {
			t.Fatalf("bad guess %d: %d", i, code)
		}
	}
	if code, _ := h.signIn(t, "hqa_wrong", "198.51.100.66"); code != http.StatusTooManyRequests {
		t.Fatalf("11th guess from the guesser: %d, want 429", code)
	}
	if code, _ := h.signIn(t, h.admin, "203.0.113.10"); code != http.StatusSeeOther {
		t.Fatalf("the admin at another address behind the proxy: %d, want signed in (303)", code)
	}
	if !strings.Contains(h.auditDetails(t, "dashboard.signin_failed"), "addr=198.51.100.66") {
		t.Fatal("the audit does not name the client behind the proxy")
	}

	// A request that does not come through the trusted proxy: its X-Forwarded-For is
	// the client's own claim, ignored.
	elsewhere, err := clientip.Parse("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	d := startHQ(t, Config{TrustProxy: elsewhere})
	for i := range 10 {
		d.signIn(t, "hqa_wrong", "198.51.100."+string(rune('0'+i)))
	}
	if code, _ := d.signIn(t, "hqa_wrong", "192.0.2.200"); code != http.StatusTooManyRequests {
		t.Fatalf("a guesser inventing X-Forwarded-For: %d, want 429", code)
	}
}

// auditDetails joins the details of the audit entries with action.
func (h *testHQ) auditDetails(t *testing.T, action string) string {
	t.Helper()
	_, b := h.do(t, "GET", "/api/v1/audit?limit=1000", h.admin, nil)
	var out []string
	for _, line := range strings.Split(string(b), "},{") {
		if strings.Contains(line, `"action":"`+action+`"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestSecureCookieWithHTTPSPublicURL: the dashboard's cookies are Secure
// whenever HQ's public URL is https (behind a TLS-terminating proxy the request itself
// is plain HTTP). It fails on the code before the fix (hq serve never set it).
func TestSecureCookieWithHTTPSPublicURL(t *testing.T) {
	for _, c := range []struct {
		cfg    Config
		secure bool
	}{
		{Config{PublicURL: "https://hq.example.cn"}, true},
		{Config{PublicURL: "http://hq.local:8080", SecureCookie: true}, true},
		{Config{PublicURL: "http://hq.local:8080"}, false},
	} {
		h := startHQ(t, c.cfg)
		code, resp := h.signIn(t, h.admin, "")
		if code != http.StatusSeeOther {
			t.Fatalf("%s: sign-in %d", c.cfg.PublicURL, code)
		}
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "hq_session" {
				session = ck
			}
		}
		if session == nil || session.Secure != c.secure || !session.HttpOnly {
			t.Fatalf("%s (secure-cookie %v): session cookie %+v, want Secure %v", c.cfg.PublicURL, c.cfg.SecureCookie, session, c.secure)
		}
	}
}

package dashboard

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// With the HQ store keeping sessions an admin stays signed in when HQ restarts (a new Handler on the same
// file), the file holds only the hash of the cookie, and sign-out ends the session.
func TestSessionsSurviveRestart(t *testing.T) {
	f := newFixture(t)
	sessions := f.hqStore
	mk := func() *httptest.Server {
		h, err := New(Config{Data: HQData(f.hqStore), Verify: AdminVerifier(f.hqStore), Audit: auditTo(f.hqStore),
			Now: func() time.Time { return fixedNow }, Logger: quiet(), Sessions: sessions})
		if err != nil {
			t.Fatal(err)
		}
		return httptest.NewServer(h)
	}
	f.srv.Close()
	f.srv = mk()
	_, sess := signIn(t, f, f.admin)
	if sess == nil {
		t.Fatal("no session")
	}
	f.srv.Close()
	f.srv = mk() // "HQ restarted"
	defer f.srv.Close()
	c := noRedirect()
	_, body := get(t, c, f.srv.URL+"/", sess)
	if !strings.Contains(body, `id="stores"`) {
		t.Fatal("signed out by a restart")
	}
	raw, err := os.ReadFile(f.hqStore.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(sess.Value)) {
		t.Fatal("the session cookie value is stored in the clear")
	}
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token")
	}
	resp, _ := post(t, c, f.srv.URL+"/logout", map[string][]string{"csrf": {m[1]}}, sess)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if _, body := get(t, c, f.srv.URL+"/", sess); strings.Contains(body, `id="stores"`) {
		t.Fatal("session alive after logout")
	}
}

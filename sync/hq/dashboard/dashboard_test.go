package dashboard

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/clientip"
)

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func get(t *testing.T, c *http.Client, u string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn walks the login form and returns the session cookie.
func signIn(t *testing.T, f *fixture, token string) (*http.Response, *http.Cookie) {
	t.Helper()
	c := noRedirect()
	resp, body := get(t, c, f.srv.URL+"/")
	m := csrfRe.FindStringSubmatch(body)
	pre := cookie(resp, preCSRFCookie)
	if m == nil || pre == nil {
		t.Fatalf("login page without CSRF token: %s", body)
	}
	resp, _ = post(t, c, f.srv.URL+"/login", url.Values{"csrf": {m[1]}, "token": {token}}, pre)
	return resp, cookie(resp, SessionCookie)
}

func TestSignInSessionAndCSRF(t *testing.T) {
	f := newFixture(t)
	c := noRedirect()
	// No CSRF token: refused even with the right admin token.
	resp, _ := post(t, c, f.srv.URL+"/login", url.Values{"token": {f.admin}})
	if resp.StatusCode != http.StatusForbidden || cookie(resp, SessionCookie) != nil {
		t.Fatalf("login without CSRF: %d", resp.StatusCode)
	}
	// A store token or garbage is not an admin.
	for _, tok := range []string{f.store, "hqa_nope", ""} {
		resp, sess := signIn(t, f, tok)
		if resp.StatusCode != http.StatusUnauthorized || sess != nil {
			t.Fatalf("token %q: %d", tok, resp.StatusCode)
		}
	}
	resp, sess := signIn(t, f, f.admin)
	if resp.StatusCode != http.StatusSeeOther || sess == nil {
		t.Fatalf("admin sign-in: %d", resp.StatusCode)
	}
	if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Value == f.admin || len(sess.Value) < 40 {
		t.Fatalf("session cookie %+v", sess)
	}
	_, body := get(t, c, f.srv.URL+"/", sess)
	if !strings.Contains(body, `id="stores"`) {
		t.Fatalf("dashboard not shown: %s", body[:min(len(body), 400)])
	}
	if want := strconv.FormatFloat(f.chainRate(), 'f', 1, 64); !strings.Contains(body, `id="chain-rate">`+want+`<`) {
		t.Fatalf("chain rate %s not on the page", want)
	}
	// A made-up session id gets the login page.
	_, body = get(t, c, f.srv.URL+"/", &http.Cookie{Name: SessionCookie, Value: "forged"})
	if strings.Contains(body, `id="stores"`) {
		t.Fatal("forged session accepted")
	}
	// Logout needs the session's CSRF token.
	resp, _ = post(t, c, f.srv.URL+"/logout", url.Values{"csrf": {"wrong"}}, sess)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", resp.StatusCode)
	}
	_, dash := get(t, c, f.srv.URL+"/", sess)
	m := csrfRe.FindStringSubmatch(dash)
	if m == nil {
		t.Fatal("no CSRF token on dashboard")
	}
	resp, _ = post(t, c, f.srv.URL+"/logout", url.Values{"csrf": {m[1]}}, sess)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if _, body := get(t, c, f.srv.URL+"/", sess); strings.Contains(body, `id="stores"`) {
		t.Fatal("session alive after logout")
	}
	entries, _ := f.hqStore.AuditEntries(context.Background(), hq.AuditQuery{Actor: "admin"})
	acts := map[string]int{}
	for _, e := range entries {
		acts[e.Action]++
	}
	if acts["dashboard.signin"] != 1 || acts["dashboard.signin_failed"] != 3 || acts["dashboard.signout"] != 1 {
		t.Fatalf("audit %v", acts)
	}
}

func TestSignInBruteForceLimited(t *testing.T) {
	f := newFixture(t)
	for range 10 {
		signIn(t, f, "hqa_guess")
	}
	resp, sess := signIn(t, f, f.admin)
	if resp.StatusCode != http.StatusTooManyRequests || sess != nil {
		t.Fatalf("11th attempt: %d", resp.StatusCode)
	}
}

func storeOrder(body string) []string {
	tbody := body[strings.Index(body, `<table id="stores">`):]
	tbody = tbody[:strings.Index(tbody, "</tbody>")]
	re := regexp.MustCompile(`<tr><td>(S\d+)</td>`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(tbody, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestStoresTableSortedByRateAndNoExternalAssets(t *testing.T) {
	f := newFixture(t)
	_, sess := signIn(t, f, f.admin)
	c := noRedirect()
	_, body := get(t, c, f.srv.URL+"/", sess)
	if got := strings.Join(storeOrder(body), ","); got != "S001,S002,S003" {
		t.Fatalf("default order (rate desc): %s", got)
	}
	for s := range f.visits {
		want := `<td class="num rate">` + strconv.FormatFloat(f.rate(s), 'f', 1, 64) + `</td>`
		if !strings.Contains(body, want) {
			t.Fatalf("%s rate %s missing", s, want)
		}
	}
	_, body = get(t, c, f.srv.URL+"/?sort=rate&dir=asc", sess)
	if got := strings.Join(storeOrder(body), ","); got != "S003,S002,S001" {
		t.Fatalf("rate asc: %s", got)
	}
	// All charts inline, no script, no external URL (only the SVG namespace).
	for _, bad := range []string{"<script", `src="http`, `href="http`, "cdn"} {
		if strings.Contains(body, bad) {
			t.Fatalf("page contains %q", bad)
		}
	}
	if n := strings.Count(body, "<svg"); n != 3 {
		t.Fatalf("want 3 inline SVG charts (funnel, trend, heat map), got %d", n)
	}
	for _, want := range []string{"S002/P04", "01JQVISIT000000000000000001-f1", "P01"} {
		if !strings.Contains(body, want) {
			t.Fatalf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "0123456789abcdef0123456789abcdef") {
		t.Fatal("customer key on the dashboard")
	}
	resp, css := get(t, c, f.srv.URL+"/static/dashboard.css")
	if resp.StatusCode != 200 || !strings.Contains(css, ".kpi") {
		t.Fatalf("embedded css: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, f.srv.URL+"/nope", sess); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, f.srv.URL+"/?from=2026-13-01", sess); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad date: %d", resp.StatusCode)
	}
}

func TestCSVExports(t *testing.T) {
	f := newFixture(t)
	_, sess := signIn(t, f, f.admin)
	c := noRedirect()
	if resp, _ := get(t, c, f.srv.URL+"/export/stores.csv"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("export without session: %d", resp.StatusCode)
	}
	want := map[string]int{"stores.csv": 3, "pharmacists.csv": 5, "trend.csv": 30, "funnel.csv": 4, "points.csv": 3, "overdue.csv": 1}
	for name, n := range want {
		resp, body := get(t, c, f.srv.URL+"/export/"+name, sess)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("%s: %d %v", name, resp.StatusCode, resp.Header)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
		if err != nil || len(recs) != n+1 {
			t.Fatalf("%s: %d records (want %d + header), err %v\n%s", name, len(recs), n, err, body)
		}
		if name == "stores.csv" {
			if recs[1][0] != "S001" || recs[1][3] != strconv.FormatFloat(f.rate("S001"), 'f', 1, 64) ||
				recs[1][1] != strconv.Itoa(f.visits["S001"]) {
				t.Fatalf("stores.csv first row %v", recs[1])
			}
		}
		if name == "points.csv" && (recs[1][2] != "P01" || recs[1][3] != "5") {
			t.Fatalf("leaderboard top %v", recs[1])
		}
	}
	if resp, _ := get(t, c, f.srv.URL+"/export/secrets.csv", sess); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown table: %d", resp.StatusCode)
	}
	entries, _ := f.hqStore.AuditEntries(context.Background(), hq.AuditQuery{Actor: "admin"})
	exports := 0
	for _, e := range entries {
		if e.Action == "export" {
			exports++
		}
	}
	if exports != len(want) {
		t.Fatalf("export audit entries %d, want %d", exports, len(want))
	}
	if cell("=HYPERLINK(1)") != "'=HYPERLINK(1)" || cell("S001") != "S001" {
		t.Fatal("formula defusing")
	}
}

// Behind a trusted reverse proxy (Clients) the sign-in failure limit counts each
// client's address from X-Forwarded-For, not the proxy's: one client's failures do not
// lock every admin out.
func TestSignInLimitPerForwardedAddress(t *testing.T) {
	f := newFixture(t)
	f.h.cfg.Clients = clientip.New(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"))
	try := func(addr, token string) int {
		c := noRedirect()
		resp, body := get(t, c, f.srv.URL+"/")
		m := csrfRe.FindStringSubmatch(body)
		pre := cookie(resp, preCSRFCookie)
		if m == nil || pre == nil {
			t.Fatalf("login page without CSRF token")
		}
		req, _ := http.NewRequest("POST", f.srv.URL+"/login", strings.NewReader(url.Values{"csrf": {m[1]}, "token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "10.9.9.9, "+addr) // the proxy appends the client last
		req.AddCookie(pre)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range f.h.cfg.MaxFailures {
		if code := try("203.0.113.7", "hqa_wrong"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	if code := try("203.0.113.7", f.admin); code != http.StatusTooManyRequests {
		t.Errorf("the failing client after the limit: %d, want 429", code)
	}
	if code := try("198.51.100.9", f.admin); code != http.StatusSeeOther {
		t.Errorf("another client behind the same proxy: %d, want 303", code)
	}
}

// TestPharmacistsByName: wherever the dashboard shows a pharmacist — heat map, points,
// overdue follow-ups and their CSV exports — it names them from their store's roster
// ("王芳 P01"); a pharmacist no roster names keeps the bare id.
func TestPharmacistsByName(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range []flows.Pharmacist{{ID: "P01", StoreID: "S001", Name: "王芳"}, {ID: "P04", StoreID: "S002", Name: "赵敏"}} {
		if err := f.hqStore.PutPharmacist(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	_, sess := signIn(t, f, f.admin)
	c := noRedirect()
	_, body := get(t, c, f.srv.URL+"/", sess)
	for _, want := range []string{"<td>王芳 P01</td>", "<td>赵敏 P04</td>", "S001/P01 王芳</text>", "<td>P03</td>"} {
		if !strings.Contains(body, want) {
			t.Fatalf("page lacks %q", want)
		}
	}
	for name, want := range map[string]string{"points.csv": "王芳", "overdue.csv": "赵敏", "pharmacists.csv": "王芳"} {
		_, csvBody := get(t, c, f.srv.URL+"/export/"+name, sess)
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		last := len(recs[0]) - 1
		if recs[0][last] != "pharmacist_name" || recs[1][last] != want {
			t.Fatalf("%s: header %v, first row %v; want the name %s", name, recs[0], recs[1], want)
		}
	}
}

package dashboard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The dashboard in a real headless Chromium, driven through chromedriver's W3C
// WebDriver HTTP API with net/http. Set DASHBOARD_SCREENSHOT=1 (or a file path) to save
// the screenshot to docs/screenshots/dashboard.png (or that path).

type webdriver struct {
	t    *testing.T
	base string // http://127.0.0.1:PORT/session/ID
	hc   *http.Client
}

func (wd *webdriver) call(method, path string, body any) json.RawMessage {
	wd.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, wd.base+path, rd)
	if err != nil {
		wd.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := wd.hc.Do(req)
	if err != nil {
		wd.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 {
		wd.t.Fatalf("webdriver %s %s: HTTP %d %s", method, path, resp.StatusCode, b)
	}
	return out.Value
}

const elemKey = "element-6066-11e4-a52e-4f735466cecf" // W3C WebDriver element reference key

func (wd *webdriver) find(css string) string {
	wd.t.Helper()
	var el map[string]string
	var last string
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("POST", wd.base+"/element", strings.NewReader(fmt.Sprintf(`{"using":"css selector","value":%q}`, css)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := wd.hc.Do(req)
		if err == nil {
			var out struct {
				Value map[string]string `json:"value"`
			}
			raw, _ := io.ReadAll(resp.Body)
			_ = json.Unmarshal(raw, &out)
			resp.Body.Close()
			last = fmt.Sprintf("HTTP %d %.300s", resp.StatusCode, raw)
			if resp.StatusCode == 200 && out.Value[elemKey] != "" {
				el = out.Value
				return el[elemKey]
			}
		}
		if time.Now().After(deadline) {
			var src string
			_ = json.Unmarshal(wd.call("GET", "/source", nil), &src)
			wd.t.Fatalf("element %q not found (%s); page:\n%.2000s", css, last, src)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (wd *webdriver) text(css string) string {
	var s string
	_ = json.Unmarshal(wd.call("GET", "/element/"+wd.find(css)+"/text", nil), &s)
	return s
}

func (wd *webdriver) findAll(css string) []string {
	var els []map[string]string
	_ = json.Unmarshal(wd.call("POST", "/elements", map[string]string{"using": "css selector", "value": css}), &els)
	var ids []string
	for _, e := range els {
		ids = append(ids, e[elemKey])
	}
	return ids
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts chromedriver and a headless Chromium session (skipping the test when
// they are not installed); everything stops at test cleanup.
func newBrowser(t *testing.T) *webdriver {
	t.Helper()
	driver, err := exec.LookPath("chromedriver")
	browser := findChromium()
	if err != nil || browser == "" {
		t.Skip("chromium/chromedriver not installed (apt-get install -y chromium chromium-driver; `make test` installs them)")
	}
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, driver, "--port="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	hc := &http.Client{Timeout: 60 * time.Second}
	root := "http://127.0.0.1:" + strconv.Itoa(port)
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		resp, err := hc.Get(root + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("chromedriver did not start: %v", err)
		}
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":       "chrome",
		"goog:loggingPrefs": map[string]string{"browser": "ALL"},
		"goog:chromeOptions": map[string]any{"binary": browser, "args": []string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
			"--user-data-dir=" + t.TempDir(), "--window-size=1280,1700", "--lang=zh-CN"}},
	}}}
	boot := &webdriver{t: t, base: root, hc: hc}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(boot.call("POST", "/session", caps), &sess); err != nil || sess.SessionID == "" {
		t.Fatalf("new session: %v", err)
	}
	wd := &webdriver{t: t, base: root + "/session/" + sess.SessionID, hc: hc}
	t.Cleanup(func() { wd.call("DELETE", "", nil) })
	return wd
}

func TestDashboardInHeadlessChromium(t *testing.T) {
	wd := newBrowser(t)
	f := newFixture(t)

	wd.call("POST", "/url", map[string]string{"url": f.srv.URL + "/"})
	wd.call("POST", "/element/"+wd.find("#token")+"/value", map[string]string{"text": f.admin})
	wd.call("POST", "/element/"+wd.find("#signin")+"/click", map[string]any{})

	if got, want := wd.text("#chain-rate"), strconv.FormatFloat(f.chainRate(), 'f', 1, 64); got != want {
		t.Fatalf("chain rate in browser %q, want %q", got, want)
	}
	rows := wd.findAll("#stores tbody tr")
	if len(rows) != 3 {
		t.Fatalf("completion table has %d rows, want 3", len(rows))
	}
	var order []string
	for _, id := range rows {
		var s string
		_ = json.Unmarshal(wd.call("GET", "/element/"+id+"/text", nil), &s)
		fields := strings.Fields(s)
		if len(fields) < 4 {
			t.Fatalf("row text %q", s)
		}
		order = append(order, fields[0])
		if want := strconv.FormatFloat(f.rate(fields[0]), 'f', 1, 64); fields[3] != want {
			t.Fatalf("store %s rate %s in the browser, want %s", fields[0], fields[3], want)
		}
	}
	if strings.Join(order, ",") != "S001,S002,S003" {
		t.Fatalf("table order %v, want by rate descending", order)
	}
	// The session cookie is HttpOnly: page script cannot read it.
	var cookieJS string
	_ = json.Unmarshal(wd.call("POST", "/execute/sync", map[string]any{"script": "return document.cookie", "args": []any{}}), &cookieJS)
	if strings.Contains(cookieJS, SessionCookie) {
		t.Fatalf("session cookie visible to scripts: %q", cookieJS)
	}
	png := wd.call("GET", "/screenshot", nil)
	var b64 string
	_ = json.Unmarshal(png, &b64)
	img, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if dest := os.Getenv("DASHBOARD_SCREENSHOT"); dest != "" {
		if dest == "1" || dest == "true" {
			dest = filepath.Join("..", "..", "..", "docs", "screenshots", "dashboard.png")
		}
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dest, img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s (%d bytes)", dest, len(img))
	}
	// Sorting by rate ascending through the header link.
	wd.call("POST", "/element/"+wd.find("#sort-rate")+"/click", map[string]any{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		first := strings.Fields(wd.text("#stores tbody tr"))
		if len(first) > 0 && first[0] == "S003" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after sorting ascending the first row is %v", first)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

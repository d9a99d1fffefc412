package dashboard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
)

// waitText waits until the element's text contains want (or, with want "", any text)
// and returns it; on timeout it fails with the page's console log. It reads the text in
// the page (one script call), so a re-render or a navigation in between is no error.
func (wd *webdriver) waitText(css, want string) string {
	wd.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got string
	for {
		got = ""
		if raw, ok := wd.tryCall("POST", "/execute/sync", map[string]any{
			"script": "var e = document.querySelector(arguments[0]); return e ? e.innerText : '';", "args": []any{css}}); ok {
			_ = json.Unmarshal(raw, &got)
			if strings.Contains(got, want) && (want != "" || got != "") {
				return got
			}
		}
		if time.Now().After(deadline) {
			wd.t.Fatalf("%s: text %q, want it to contain %q\nconsole: %s", css, got, want, wd.console())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tryCall is call that reports a failed command instead of failing the test (a page
// navigating away during the command).
func (wd *webdriver) tryCall(method, path string, body any) (json.RawMessage, bool) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, wd.base+path, strings.NewReader(string(b)))
	if err != nil {
		return nil, false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := wd.hc.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
		return nil, false
	}
	return out.Value, true
}

// console returns the browser's console messages (JavaScript errors included).
func (wd *webdriver) console() string {
	var logs []struct {
		Level, Message string
	}
	_ = json.Unmarshal(wd.call("POST", "/se/log", map[string]string{"type": "browser"}), &logs)
	var b strings.Builder
	for _, l := range logs {
		b.WriteString(l.Level + " " + l.Message + "\n")
	}
	return b.String()
}

// typeInto replaces an input's text as a person would (clear, then type), which fires
// the input events the editor listens to.
func (wd *webdriver) typeInto(css, text string) {
	wd.t.Helper()
	id := wd.find(css)
	wd.call("POST", "/element/"+id+"/clear", map[string]any{})
	if text != "" {
		wd.call("POST", "/element/"+id+"/value", map[string]string{"text": text})
	}
}

// screenshot saves the page to docs/screenshots/name when the environment variable env
// is set (1: that file; another value: that path), as `make screenshots` does.
func (wd *webdriver) screenshot(env, name string) {
	wd.t.Helper()
	dest := os.Getenv(env)
	if dest == "" {
		return
	}
	if dest == "1" || dest == "true" {
		dest = filepath.Join("..", "..", "..", "docs", "screenshots", name)
	}
	var b64 string
	_ = json.Unmarshal(wd.call("GET", "/screenshot", nil), &b64)
	img, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		wd.t.Fatal(err)
	}
	if err := os.WriteFile(dest, img, 0o644); err != nil {
		wd.t.Fatal(err)
	}
}

func (wd *webdriver) click(css string) {
	wd.t.Helper()
	wd.call("POST", "/element/"+wd.find(css)+"/click", map[string]any{})
}

func (wd *webdriver) attr(css, name string) string {
	var s string
	_ = json.Unmarshal(wd.call("GET", "/element/"+wd.find(css)+"/attribute/"+name, nil), &s)
	return s
}

// TestContentEditorInHeadlessChromium is the 内容管理 page as an operations person
// uses it: edit a question (the preview follows), break a field (the problem shows next
// to it and publishing is blocked), add a branching follow-up, change a
// recommendation, publish to a pilot store, read the diff, roll out to all.
func TestContentEditorInHeadlessChromium(t *testing.T) {
	wd := newBrowser(t)
	f := newFixture(t)
	wd.call("POST", "/url", map[string]string{"url": f.srv.URL + "/"})
	wd.typeInto("#token", f.admin)
	wd.click("#signin")
	wd.click("#nav-content")
	wd.waitText("#draft-status", "草稿有效，可以发布")

	hyp := `[data-file="questionnaires/hypertension.json"]`
	// Edit the first question; the counter preview shows it at once.
	wd.typeInto(hyp+`[data-field="questions[0].text"]`, "您多久量一次血压？")
	wd.waitText("#counter-preview .c-current", "您多久量一次血压？")
	wd.waitText("#draft-diff", "您多久量一次血压？")

	// Break a choice label: the problem is listed, its input marked, publish blocked.
	label := hyp + `[data-field="questions[0].choices[0].label"]`
	wd.typeInto(label, "")
	wd.waitText("#draft-status", "1 处问题")
	wd.waitText("#problems", "questions[0].choices[0].label")
	if cls := wd.attr(label, "class"); !strings.Contains(cls, "invalid") {
		t.Fatalf("broken input class %q", cls)
	}
	if wd.attr("#publish", "disabled") == "" {
		t.Fatal("publish is enabled with a problem in the draft")
	}
	wd.typeInto(label, "每天")
	wd.waitText("#draft-status", "草稿有效")

	// A new follow-up, shown only when the first question is answered 每天.
	n := len(wd.findAll(hyp + `.qcard`))
	wd.click("#add-question")
	q := hyp + `[data-field="questions[` + strconv.Itoa(n) + `]`
	wd.typeInto(q+`.text"]`, "您睡得好吗？")
	wd.typeInto(q+`.text_en"]`, "Do you sleep well?")
	wd.waitText("#problems", "show_if")
	sel := wd.find(`[data-question="q1"] .showif select`)
	wd.call("POST", "/element/"+sel+"/click", map[string]any{})
	opt := wd.find(`[data-question="q1"] .showif select option[value="bp_measure"]`)
	wd.call("POST", "/element/"+opt+"/click", map[string]any{})
	wd.click(`[data-question="q1"] .showif .cond input[type=checkbox]`) // the first choice: daily
	wd.waitText("#draft-status", "草稿有效")
	wd.click(`#counter-preview .c-option[data-key="1"]`)
	wd.waitText("#counter-preview", "＋您睡得好吗？")
	wd.screenshot("CONTENT_SCREENSHOT", "content-editor.png")
	wd.click(`#preview button.small`) // 重新开始
	wd.click(`#counter-preview .c-option[data-key="2"]`)
	if s := wd.waitText("#counter-preview", "✓"); strings.Contains(s, "您睡得好吗") {
		t.Fatalf("the follow-up shows for another answer:\n%s", s)
	}

	// A recommendation's title.
	wd.click(`button.tab[data-tab="kb"]`)
	wd.typeInto(`[data-file="knowledge/kb.json"][data-field="items[0].title"]`, "续药提醒（短信）")
	wd.waitText("#draft-diff", "续药提醒（短信）")
	wd.waitText("#draft-status", "草稿有效")

	// Publish to the pilot store.
	wd.typeInto("#publish-note", "试点：血压问题改写，新增睡眠追问")
	wd.typeInto("#publish-author", "李娜")
	wd.typeInto("#publish-stores", "S001")
	wd.click("#publish")
	wd.waitText("#flash", "已发布 v1")
	ctx := context.Background()
	v, p, err := f.hqStore.ContentPack(ctx, 1)
	if err != nil || v.Author != "dashboard:李娜" || v.Note != "试点：血压问题改写，新增睡眠追问" {
		t.Fatalf("version 1: %+v %v", v, err)
	}
	d, err := p.Validate()
	if err != nil {
		t.Fatalf("published pack: %v", err)
	}
	hq1 := d.Questionnaires.For(flows.ClassHypertension)
	sleep, ok := hq1.Question("q1")
	if hq1.Questions[0].Text != "您多久量一次血压？" || !ok || sleep.Text != "您睡得好吗？" || strings.Join(sleep.ShowIf["bp_measure"], ",") != "daily" {
		t.Fatalf("published questionnaire: %+v / %+v", hq1.Questions[0], sleep)
	}
	if d.Knowledge.Items[0].Title != "续药提醒（短信）" {
		t.Fatalf("published recommendation: %+v", d.Knowledge.Items[0])
	}
	if a, _ := f.hqStore.ContentAssignments(ctx); a.For("S001") != 1 || a.For("S002") != 0 {
		t.Fatalf("pilot assignment: %+v", a)
	}
	wd.waitText(`#versions tr[data-version="1"] .assigned`, "S001")

	// The diff in words, then to every store.
	wd.click(`#versions tr[data-version="1"] .actions a`)
	wd.waitText("#diff", "问题 bp_measure（您多久量一次血压？）")
	wd.waitText("#diff", "新增 问题 q1（您睡得好吗？）")
	wd.call("POST", "/back", map[string]any{})
	wd.click(`#versions tr[data-version="1"] input[value="all"]`)
	wd.click(`#versions tr[data-version="1"] .assign button`)
	wd.waitText("#flash", "已分配 v1")
	if a, _ := f.hqStore.ContentAssignments(ctx); a.For("S003") != 1 {
		t.Fatalf("assign all: %+v", a)
	}
	for _, l := range strings.Split(wd.console(), "\n") {
		if strings.HasPrefix(l, "SEVERE") && !strings.Contains(l, "favicon.ico") {
			t.Fatalf("browser error: %s", l)
		}
	}
}

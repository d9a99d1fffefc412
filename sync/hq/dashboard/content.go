package dashboard

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/wire"
)

// The 内容管理 page: versions with note, author and the stores running each,
// readable diffs, forms to edit a draft with live validation and a counter preview
// (static/content.js), publishing to pilot stores then to all, rollback, and the
// completion rate of each version. Mounted when Config.Content is set.

// contentCSP lets the content page run its one script and call HQ from it; the other
// pages stay script-free.
const contentCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxDraftBytes bounds a draft sent for validation or publishing.
const maxDraftBytes = 4 << 20

func (h *Handler) contentRoutes() {
	h.mux.HandleFunc("GET /content", h.contentPage)
	h.mux.HandleFunc("GET /content/diff", h.contentDiffPage)
	h.mux.HandleFunc("GET /content/pack", h.contentPack)
	h.mux.HandleFunc("POST /content/validate", h.contentValidate)
	h.mux.HandleFunc("POST /content/publish", h.contentPublish)
	h.mux.HandleFunc("POST /content/assign", h.contentAssign)
}

type versionRate struct {
	Version   int
	Note      string
	Visits    int
	Completed int
	Rate      float64
	Funnel    [4]float64 // share of visits reaching each step, %
}

type contentView struct {
	CSRF       string
	Versions   []wire.ContentVersionRow
	Refusals   []hq.ContentStatus
	Stores     []string // stores HQ knows of (assigned, reporting, or with visits)
	Latest     int
	From, To   string
	Rates      []versionRate
	Flash      string
	FlashError string
	EditFrom   string // version the draft starts from ("" = latest)
}

// contentSession checks the session; it answers the request itself when there is none.
func (h *Handler) contentSession(w http.ResponseWriter, r *http.Request, jsonAnswer bool) (hq.Session, bool) {
	_, s, ok := h.current(r)
	if !ok {
		if jsonAnswer {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "请重新登录"})
		} else {
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
		return hq.Session{}, false
	}
	return s, true
}

// checkCSRF compares the request's CSRF token (header X-CSRF-Token for the script,
// form field csrf for forms) with the session's.
func checkCSRF(s hq.Session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (h *Handler) contentPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.contentSession(w, r, false)
	if !ok {
		return
	}
	from, to, err := h.period(r)
	if err != nil {
		http.Error(w, "bad period: "+err.Error(), http.StatusBadRequest)
		return
	}
	list, err := h.cfg.Content.List(r.Context())
	if err != nil {
		h.cfg.Logger.Error("content list", "err", err)
		http.Error(w, "content versions unavailable", http.StatusInternalServerError)
		return
	}
	v := contentView{CSRF: s.CSRF, Versions: list.Versions, From: from.String(), To: to.String()}
	if len(list.Versions) > 0 {
		v.Latest = list.Versions[0].Number
	}
	q := r.URL.Query()
	if n := q.Get("published"); n != "" {
		v.Flash = "已发布 v" + n
	}
	if n := q.Get("assigned"); n != "" {
		v.Flash = "已分配 v" + n + "：各门店柜台在下次同步后、两次服务之间切换"
	}
	if e := q.Get("error"); e != "" {
		v.FlashError = e
	}
	if f := q.Get("edit"); f != "" {
		if _, err := strconv.Atoi(f); err == nil {
			v.EditFrom = f
		}
	}
	stores := map[string]bool{}
	for _, st := range list.Statuses {
		stores[st.StoreID] = true
		if st.Refused != nil {
			v.Refusals = append(v.Refusals, st)
		}
	}
	for _, row := range list.Versions {
		for _, id := range row.Assigned {
			stores[id] = true
		}
	}
	byStore, err := h.cfg.Data.Completion(r.Context(), Query{From: from, To: to, GroupBy: "store"})
	if err != nil {
		h.cfg.Logger.Error("content page completion", "err", err)
		http.Error(w, "dashboard data unavailable", http.StatusInternalServerError)
		return
	}
	for _, row := range byStore {
		stores[row.Key] = true
	}
	for id := range stores {
		v.Stores = append(v.Stores, id)
	}
	sort.Strings(v.Stores)
	byVersion, err := h.cfg.Data.Completion(r.Context(), Query{From: from, To: to, GroupBy: hq.GroupByContentVersion})
	if err != nil {
		h.cfg.Logger.Error("content page completion", "err", err)
		http.Error(w, "dashboard data unavailable", http.StatusInternalServerError)
		return
	}
	notes := map[int]string{}
	for _, row := range list.Versions {
		notes[row.Number] = row.Note
	}
	for _, row := range byVersion {
		n, _ := strconv.Atoi(row.Key)
		if row.ContentVersion != nil {
			n = *row.ContentVersion
		}
		f := funnelCounts(row.Funnel)
		vr := versionRate{Version: n, Note: notes[n], Visits: row.Visits, Completed: row.Completed, Rate: pct(row.Completed, row.Visits)}
		for i := range f {
			vr.Funnel[i] = pct(f[i], row.Visits)
		}
		v.Rates = append(v.Rates, vr)
	}
	w.Header().Set("Content-Security-Policy", contentCSP)
	h.render(w, http.StatusOK, "content.html", v)
}

// contentPack answers a version's pack (?version=N, default the latest) as a
// content.Doc: the draft editor starts from it.
func (h *Handler) contentPack(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.contentSession(w, r, true); !ok {
		return
	}
	var (
		n    int
		pack content.Pack
		err  error
	)
	if s := r.URL.Query().Get("version"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "version: not a version number"})
			return
		}
		_, pack, err = h.cfg.Content.Version(r.Context(), n)
	} else {
		var v content.Version
		v, pack, err = h.cfg.Content.Latest(r.Context())
		n = v.Number
	}
	if errors.Is(err, hq.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		h.cfg.Logger.Error("content pack", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "content unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, pack.Doc(n))
}

// draftRequest reads the script's JSON body after the session and CSRF checks.
func (h *Handler) draftRequest(w http.ResponseWriter, r *http.Request) (wire.ContentPublishRequest, bool) {
	var req wire.ContentPublishRequest
	s, ok := h.contentSession(w, r, true)
	if !ok {
		return req, false
	}
	if !checkCSRF(s, r.Header.Get("X-CSRF-Token")) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "CSRF token mismatch"})
		return req, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDraftBytes))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "草稿过大"})
		return req, false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "草稿无法识别：" + err.Error()})
		return req, false
	}
	return req, true
}

func (h *Handler) contentValidate(w http.ResponseWriter, r *http.Request) {
	req, ok := h.draftRequest(w, r)
	if !ok {
		return
	}
	out, err := h.cfg.Content.Check(r.Context(), req)
	if err != nil {
		h.cfg.Logger.Error("content validate", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "校验失败，请稍后再试"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) contentPublish(w http.ResponseWriter, r *http.Request) {
	req, ok := h.draftRequest(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(req.Author)
	req.Author = "dashboard"
	if name != "" {
		req.Author = "dashboard:" + name
	}
	v, err := h.cfg.Content.Publish(r.Context(), req)
	var ve *contentadmin.ValidationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, wire.ContentProblemsResponse{Error: ve.Problems[0].Error(), Problems: ve.Problems})
		return
	case errors.Is(err, hq.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	case err != nil:
		h.cfg.Logger.Error("content publish", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "发布失败，请稍后再试"})
		return
	}
	h.cfg.Logger.Info("content published from the dashboard", "version", v.Number, "author", v.Author, "all", req.All, "stores", req.Stores)
	writeJSON(w, http.StatusOK, wire.ContentPublishResponse{Version: v})
}

// contentAssign is the assign form: a version to pilot stores or to all (rollback: an
// older version).
func (h *Handler) contentAssign(w http.ResponseWriter, r *http.Request) {
	s, ok := h.contentSession(w, r, false)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil || !checkCSRF(s, r.PostForm.Get("csrf")) {
		http.Error(w, "CSRF token mismatch", http.StatusForbidden)
		return
	}
	back := func(key, val string) {
		http.Redirect(w, r, "/content?"+url.Values{key: {val}}.Encode(), http.StatusSeeOther)
	}
	n, err := strconv.Atoi(r.PostForm.Get("version"))
	if err != nil || n < 0 {
		back("error", "版本号无效")
		return
	}
	req := wire.ContentAssignRequest{Version: n, All: r.PostForm.Get("target") == "all"}
	if !req.All {
		for _, id := range strings.FieldsFunc(r.PostForm.Get("stores"), func(c rune) bool { return c == ',' || c == '，' || c == ' ' }) {
			req.Stores = append(req.Stores, id)
		}
		if len(req.Stores) == 0 {
			back("error", "请填写试点门店，或选择全部门店")
			return
		}
	}
	err = h.cfg.Content.Assign(r.Context(), req, "dashboard")
	switch {
	case errors.Is(err, hq.ErrNotFound):
		back("error", fmt.Sprintf("没有 v%d", n))
	case errors.Is(err, hq.ErrInvalid):
		back("error", err.Error())
	case err != nil:
		h.cfg.Logger.Error("content assign", "err", err)
		back("error", "分配失败，请稍后再试")
	default:
		back("assigned", strconv.Itoa(n))
	}
}

type diffView struct {
	From, To int
	Diff     content.Diff
	Files    []diffFile
}

type diffFile struct {
	File, Name, Op string
	Changes        []diffLine
}

type diffLine struct {
	Op, OpName, What, Field, Old, New string
}

// contentDiffPage shows what changed between two versions in the editors' words.
func (h *Handler) contentDiffPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.contentSession(w, r, false); !ok {
		return
	}
	q := r.URL.Query()
	from, err1 := strconv.Atoi(q.Get("from"))
	to, err2 := strconv.Atoi(q.Get("to"))
	if err1 != nil || err2 != nil || from < 0 || to < 0 {
		http.Error(w, "from, to: version numbers", http.StatusBadRequest)
		return
	}
	d, err := h.cfg.Content.Diff(r.Context(), from, to)
	if errors.Is(err, hq.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		h.cfg.Logger.Error("content diff", "err", err)
		http.Error(w, "diff unavailable", http.StatusInternalServerError)
		return
	}
	v := diffView{From: from, To: to, Diff: d}
	for _, f := range d.Files {
		df := diffFile{File: f.File, Name: h.fileName(f.File), Op: opZh(f.Op)}
		for _, c := range f.Changes {
			what := kindZh(c.Kind)
			if c.Key != "" {
				what += " " + c.Key
			}
			if c.Label != "" && c.Label != c.Key {
				what += "（" + c.Label + "）"
			}
			df.Changes = append(df.Changes, diffLine{Op: string(c.Op), OpName: opZh(c.Op), What: what, Field: c.Field, Old: c.Old, New: c.New})
		}
		v.Files = append(v.Files, df)
	}
	h.render(w, http.StatusOK, "contentdiff.html", v)
}

func opZh(op content.Op) string {
	switch op {
	case content.Added:
		return "新增"
	case content.Removed:
		return "删除"
	case content.Reordered:
		return "调整顺序"
	}
	return "修改"
}

func kindZh(k string) string {
	switch k {
	case content.KindDrug:
		return "药品"
	case content.KindQuestionnaire:
		return "问卷"
	case content.KindQuestion:
		return "问题"
	case content.KindKnowledgeBase:
		return "推荐库"
	case content.KindRecommendation:
		return "推荐"
	case content.KindRule:
		return "积分规则"
	case content.KindMessage:
		return "随访消息"
	}
	return "文件"
}

// fileName names a content file.
func (h *Handler) fileName(f string) string {
	switch f {
	case flows.CatalogFile:
		return "药品目录"
	case flows.KnowledgeFile:
		return "推荐方案"
	case flows.PointsFile:
		return "积分规则"
	case flows.MessagesFile:
		return "随访消息"
	}
	if c, ok := strings.CutPrefix(f, flows.QuestionnairesDir+"/"); ok {
		return "问卷 · " + i18n.ClassName(h.zh.L, strings.TrimSuffix(c, ".json"))
	}
	return f
}

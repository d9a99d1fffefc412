// Package dashboard is the HQ dashboard (GET /): admin sign-in with the admin token,
// a server-side cookie session, CSRF-protected forms, the chain completion rate, a
// per-store table sortable by rate, the step funnel, a pharmacist × step heat map, the
// 30-day trend, the points leaderboard, overdue follow-ups and CSV export of every
// table. Server-rendered html/template, embedded CSS, charts as inline SVG; no CDN and
// no script. See docs/dashboard.md.
package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/clientip"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/hq/effectreport"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	SessionCookie = "hq_session"
	preCSRFCookie = "hq_login_csrf"
)

// Config configures the dashboard.
type Config struct {
	Data Data // required
	// Verify reports whether token is an admin token (the HQ owns token verification).
	// Unused when Tokens is set.
	Verify func(ctx context.Context, token string) bool
	// Tokens, if set, verifies sign-ins (hq.CheckToken: an unknown, revoked or expired
	// token, or a store token, is refused) and ties each session to its token: a
	// session ends on its next request once that token is revoked or expired.
	Tokens hq.TokenStore
	// Audit records sign-ins and exports (may be nil), e.g. (*followup.Store).Audit.
	Audit  func(ctx context.Context, actor, action, detail string, at time.Time) error
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// SecureCookie sets the Secure flag (HQ behind TLS). Also set when the request came
	// over TLS.
	SecureCookie bool
	// Clients resolves the client's address for the sign-in failure limit and the audit
	// (X-Forwarded-For only from trusted proxies); the zero value: the TCP peer.
	Clients    clientip.Resolver
	SessionTTL time.Duration // default 8 h
	// MaxFailures per client address per minute on sign-in (default 10).
	MaxFailures int
	// Sessions keeps signed-in sessions and sign-in failures (the HQ store, so that
	// admins stay signed in across restarts and every HQ process shares the failure
	// limit); nil: in memory.
	Sessions hq.SessionStore
	// Content, if set, mounts the 内容管理 page (content packs: versions, diffs, the
	// draft editor, publish and assign) at /content.
	Content *contentadmin.Service
	// Effect, if set, mounts the 效果验证 page (effect and process-health reports,
	// docs/effect.md) at /effect.
	Effect *effectreport.Service
}

// Handler is the dashboard. It implements http.Handler; mount it at "/".
type Handler struct {
	cfg  Config
	tmpl *template.Template
	mux  *http.ServeMux
	// zh says flows' codes (class names …) through the counter's translations; the
	// dashboard is Chinese.
	zh *i18n.Texts
}

// New builds the dashboard handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Data == nil || (cfg.Verify == nil && cfg.Tokens == nil) {
		return nil, errors.New("dashboard: Data and Verify are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 10
	}
	if cfg.Sessions == nil {
		cfg.Sessions = newMemorySessions()
	}
	zh, err := i18n.Load(i18n.ZhHans)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	words := template.FuncMap{"levelWord": func(l string) string { return i18n.LevelWord(zh.L, l) }}
	tmpl, err := template.New("").Funcs(funcs).Funcs(effectFuncs).Funcs(words).ParseFS(templatesFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: templates: %w", err)
	}
	h := &Handler{cfg: cfg, tmpl: tmpl, mux: http.NewServeMux(), zh: zh}
	static, _ := fs.Sub(staticFS, "static")
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET /{$}", h.index)
	h.mux.HandleFunc("POST /login", h.login)
	h.mux.HandleFunc("POST /logout", h.logout)
	h.mux.HandleFunc("GET /export/{table}", h.export)
	if cfg.Content != nil {
		h.contentRoutes()
	}
	if cfg.Effect != nil {
		h.effectRoutes()
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (h *Handler) secure(r *http.Request) bool { return h.cfg.SecureCookie || r.TLS != nil }

// current returns the request's live session and its store key.
func (h *Handler) current(r *http.Request) (string, hq.Session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", hq.Session{}, false
	}
	key := sessionKey(c.Value)
	s, ok, err := h.cfg.Sessions.GetSession(r.Context(), key)
	if err != nil {
		h.cfg.Logger.Error("dashboard session", "err", err)
		return "", hq.Session{}, false
	}
	if !ok {
		return "", hq.Session{}, false
	}
	live, err := h.tokenLive(r.Context(), s)
	if err != nil {
		h.cfg.Logger.Error("dashboard session: token lookup", "err", err)
		return "", hq.Session{}, false
	}
	if !h.cfg.Now().Before(s.Expires) || !live {
		if err := h.cfg.Sessions.DeleteSession(r.Context(), key); err != nil {
			h.cfg.Logger.Error("dashboard session", "err", err)
		}
		return "", hq.Session{}, false
	}
	return key, s, true
}

// verify checks a sign-in token; it returns the hash the session keeps ("" without
// Tokens).
func (h *Handler) verify(ctx context.Context, token string) (bool, string) {
	if h.cfg.Tokens == nil {
		return h.cfg.Verify(ctx, token), ""
	}
	p, err := hq.CheckToken(ctx, h.cfg.Tokens, token, h.cfg.Now())
	if err != nil && !errors.Is(err, hq.ErrNotFound) {
		h.cfg.Logger.Error("dashboard sign-in: token lookup", "err", err)
	}
	return err == nil && p.Admin, hq.HashToken(token)
}

// tokenLive reports whether the token a session was opened with is still a live admin
// token (always, without Tokens). A session from before sessions kept their token ends.
// A storage error keeps the session (it is not deleted) but refuses this request.
func (h *Handler) tokenLive(ctx context.Context, s hq.Session) (bool, error) {
	if h.cfg.Tokens == nil {
		return true, nil
	}
	if s.TokenHash == "" {
		return false, nil
	}
	p, err := hq.CheckTokenHash(ctx, h.cfg.Tokens, s.TokenHash, h.cfg.Now())
	if errors.Is(err, hq.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return p.Admin, nil
}

func (h *Handler) audit(ctx context.Context, action, detail string) {
	if h.cfg.Audit == nil {
		return
	}
	if err := h.cfg.Audit(ctx, "admin", action, detail, h.cfg.Now()); err != nil {
		h.cfg.Logger.Error("dashboard audit", "action", action, "err", err)
	}
}

func (h *Handler) clientAddr(r *http.Request) string { return h.cfg.Clients.Addr(r) }

// tooManyFailures reports whether addr failed to sign in MaxFailures times in the last
// minute (counted by the session store, so across HQ processes). A store error counts
// as too many: sign-in waits rather than lets guesses through uncounted.
func (h *Handler) tooManyFailures(r *http.Request, addr string) bool {
	n, err := h.cfg.Sessions.SigninFailures(r.Context(), addr, h.cfg.Now().Add(-time.Minute))
	if err != nil {
		h.cfg.Logger.Error("dashboard sign-in failures", "err", err)
		return true
	}
	return n >= h.cfg.MaxFailures
}

// noteFailure records a failed sign-in of addr.
func (h *Handler) noteFailure(r *http.Request, addr string) {
	if err := h.cfg.Sessions.NoteSigninFailure(r.Context(), addr, h.cfg.Now()); err != nil {
		h.cfg.Logger.Error("dashboard sign-in failures", "err", err)
	}
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	tok := randomID()
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: tok, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.secure(r), MaxAge: 3600})
	h.render(w, code, "login.html", map[string]any{"CSRF": tok, "Error": msg})
}

func (h *Handler) render(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		h.cfg.Logger.Error("dashboard render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		h.renderLogin(w, r, http.StatusBadRequest, "表单无法识别")
		return
	}
	c, err := r.Cookie(preCSRFCookie)
	form := r.PostForm.Get("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		h.renderLogin(w, r, http.StatusForbidden, "表单已失效，请重新登录")
		return
	}
	addr := h.clientAddr(r)
	if h.tooManyFailures(r, clientip.Key(addr)) {
		h.renderLogin(w, r, http.StatusTooManyRequests, "尝试次数过多，请一分钟后再试")
		return
	}
	ok, tokenHash := h.verify(r.Context(), r.PostForm.Get("token"))
	if !ok {
		h.noteFailure(r, clientip.Key(addr))
		h.audit(r.Context(), "dashboard.signin_failed", "addr="+addr)
		h.renderLogin(w, r, http.StatusUnauthorized, "管理员令牌无效")
		return
	}
	id := randomID()
	now := h.cfg.Now()
	if err := h.cfg.Sessions.PutSession(r.Context(), sessionKey(id), hq.Session{CSRF: randomID(), Expires: now.Add(h.cfg.SessionTTL), TokenHash: tokenHash}, now); err != nil {
		h.cfg.Logger.Error("dashboard session", "err", err)
		http.Error(w, "sign-in unavailable", hq.FailStatus(w.Header(), err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.secure(r), MaxAge: int(h.cfg.SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	h.audit(r.Context(), "dashboard.signin", "addr="+addr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	key, s, ok := h.current(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.CSRF)) != 1 {
		http.Error(w, "CSRF token mismatch", http.StatusForbidden)
		return
	}
	if err := h.cfg.Sessions.DeleteSession(r.Context(), key); err != nil {
		h.cfg.Logger.Error("dashboard session", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	h.audit(r.Context(), "dashboard.signout", "")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// period reads ?from=&to= (YYYY-MM-DD), defaulting to the 30 days ending today.
func (h *Handler) period(r *http.Request) (flows.Day, flows.Day, error) {
	to := flows.DayOf(h.cfg.Now())
	from := to - 29
	q := r.URL.Query()
	if s := q.Get("to"); s != "" {
		d, err := flows.ParseDay(s)
		if err != nil {
			return 0, 0, fmt.Errorf("to: %w", err)
		}
		to = d
		from = to - 29
	}
	if s := q.Get("from"); s != "" {
		d, err := flows.ParseDay(s)
		if err != nil {
			return 0, 0, fmt.Errorf("from: %w", err)
		}
		from = d
	}
	if from > to {
		return 0, 0, errors.New("from is after to")
	}
	if to-from > 366 {
		return 0, 0, errors.New("period longer than a year")
	}
	return from, to, nil
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	_, s, ok := h.current(r)
	if !ok {
		h.renderLogin(w, r, http.StatusOK, "")
		return
	}
	v, ok := h.requestView(w, r)
	if !ok {
		return
	}
	v.CSRF = s.CSRF
	v.ContentPage = h.cfg.Content != nil
	v.EffectPage = h.cfg.Effect != nil
	h.render(w, http.StatusOK, "dashboard.html", v)
}

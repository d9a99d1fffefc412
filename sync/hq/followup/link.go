package followup

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/clientip"
)

// Slot is a booking time slot offered on the page.
type Slot struct{ ID, Label string }

// Slots are the booking time slots offered on the page, in page order.
func Slots() []Slot {
	return []Slot{
		{"am", "上午 09:00–12:00"},
		{"pm", "下午 14:00–17:00"},
		{"eve", "晚上 18:00–20:00"},
	}
}

func slotLabel(id string) (string, bool) {
	for _, s := range Slots() {
		if s.ID == id {
			return s.Label, true
		}
	}
	return "", false
}

// LinkStore is what the tracked link needs of the HQ store.
type LinkStore interface {
	hq.FollowUpStore
	hq.LinkStore
	hq.AuditStore
	hq.RosterStore
	hq.TokenStore // the addresses each store's token syncs from (suspicious opens)
	hq.VisitStore // the content version a follow-up's visit was served with
}

// PointsVersions gives the points rules and daily caps of a content version
// (contentadmin.Versions).
type PointsVersions interface {
	Points(ctx context.Context, version int) (flows.PointsRules, flows.PointsCaps, error)
}

// LinkConfig configures LinkHandler.
type LinkConfig struct {
	Store  LinkStore         // required
	Signer *Signer           // required
	Points flows.PointsRules // default flows.DefaultPointsRules()
	// Caps are the daily caps of link and booking points per pharmacist (nil: none).
	Caps flows.PointsCaps
	// Versions, if set, prices a follow-up's link open and booking with the points rules
	// and caps of the content version its visit was served with; Points and Caps are
	// version 0's (and any version Versions does not have).
	Versions PointsVersions
	Logger   *slog.Logger // default slog.Default()
	Now      func() time.Time
	// Rate and Burst: token bucket per client (an IPv4 address, an IPv6 /64; default
	// 0.5/s, burst 10). MaxClients bounds the clients remembered (default 10 000): the
	// least recently seen is forgotten to make room, never everyone refused.
	Rate       float64
	Burst      int
	MaxClients int
	// Clients resolves the client's address (X-Forwarded-For only from trusted
	// proxies); the zero value: the TCP peer.
	Clients clientip.Resolver
	// BookingDays: how far ahead a revisit can be booked (default 30 days).
	BookingDays int
	// StoreName gives a store's display name for the page (nil: the store id).
	StoreName func(storeID string) string
}

// LinkHandlerT is the tracked link's handler (LinkHandler): an http.Handler whose
// FlushAudit writes the counted requests that changed nothing.
type LinkHandlerT struct {
	cfg     LinkConfig
	limiter *limiter
	mux     *http.ServeMux
	counts  linkCounts
}

// LinkHandler serves the tracked link: GET /f/{token} (first valid open records the
// click and credits link_opened in one store call, and shows the reminder with a booking
// form) and POST /f/{token}/book (books once, crediting revisit_booked likewise). Forged, altered, expired or
// repeated tokens earn nothing and get a plain page. Requests are rate limited per client
// address. Mount it at "/f/".
func LinkHandler(cfg LinkConfig) (*LinkHandlerT, error) {
	if cfg.Store == nil || cfg.Signer == nil {
		return nil, errors.New("followup: link handler needs a store and a signer")
	}
	if cfg.Points == nil {
		cfg.Points = flows.DefaultPointsRules()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 0.5
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.BookingDays <= 0 {
		cfg.BookingDays = 30
	}
	if cfg.StoreName == nil {
		cfg.StoreName = func(id string) string { return id }
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = limiterMaxKeys
	}
	h := &LinkHandlerT{cfg: cfg, limiter: newLimiter(cfg.Rate, cfg.Burst, cfg.MaxClients, cfg.Now), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /f/{token}", h.open)
	h.mux.HandleFunc("POST /f/{token}/book", h.book)
	return h, nil
}

// ServeHTTP sets the privacy headers, applies the rate limit and routes.
func (h *LinkHandlerT) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Robots-Tag", "noindex")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	if !h.limiter.allow(clientip.Key(h.clientAddr(r))) {
		h.counts.add(h.cfg.Now(), "link.reject", "rate_limited")
		w.Header().Set("Retry-After", "10")
		h.plain(w, http.StatusTooManyRequests, "请求过于频繁", "请稍后再试。")
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *LinkHandlerT) clientAddr(r *http.Request) string { return h.cfg.Clients.Addr(r) }

// verify checks the token; on failure it writes the plain page and counts the reject.
func (h *LinkHandlerT) verify(w http.ResponseWriter, r *http.Request) (string, bool) {
	now := h.cfg.Now()
	id, _, err := h.cfg.Signer.Verify(r.PathValue("token"), now)
	if err == nil {
		return id, true
	}
	reason := "invalid"
	switch {
	case errors.Is(err, ErrTokenExpired):
		reason = "expired"
		h.plain(w, http.StatusGone, "链接已过期", "此提醒链接已过期。如需预约复诊，请联系门店药师。")
	default:
		if errors.Is(err, ErrTokenForged) {
			reason = "forged"
		}
		h.plain(w, http.StatusNotFound, "链接无效", "无法识别此链接。")
	}
	h.counts.add(now, "link.reject", reason) // counted, written once a minute (linkcount.go)
	return "", false
}

// credit decides what a link open or booking (kind) of follow-up it earns at now: the
// points event (the zero event: nothing) and the flags that go with it. Every credit
// path goes through here: only a pharmacist on the store's roster earns.
//
// The event is priced, and capped (the daily cap it returns), by the points rules of
// the content version the follow-up's visit was served with.
func (h *LinkHandlerT) credit(ctx context.Context, it hq.FollowUpItem, kind string, now time.Time, addr string) (flows.PointsEvent, int, []hq.Flag, error) {
	fu := it.FollowUp
	if it.Attempts == 0 {
		// A follow-up no channel ever sent: its link never reached the customer, so
		// opening it earns nothing.
		return flows.PointsEvent{}, 0, nil, nil
	}
	rules, caps, err := h.rules(ctx, fu)
	if err != nil {
		return flows.PointsEvent{}, 0, nil, err
	}
	ev := pointsEvent(rules, fu, kind, now)
	if ev.ID == "" {
		return flows.PointsEvent{}, 0, nil, nil // nothing to earn
	}
	roster, err := hq.RosterSet(ctx, h.cfg.Store, fu.StoreID)
	if err != nil {
		return flows.PointsEvent{}, 0, nil, err
	}
	if !roster[fu.PharmacistID] {
		return flows.PointsEvent{}, 0, []hq.Flag{{At: now, Kind: hq.FlagNotOnRoster, StoreID: fu.StoreID, PharmacistID: fu.PharmacistID, Ref: fu.ID,
			Detail: fmt.Sprintf("%s: pharmacist %s is not on the roster of store %s: no points", kind, fu.PharmacistID, fu.StoreID)}}, nil
	}
	// Credited, but listed for a person to check when it does not look like a customer.
	var flags []hq.Flag
	flag := func(k, detail string) {
		flags = append(flags, hq.Flag{At: now, Kind: k, StoreID: fu.StoreID, PharmacistID: fu.PharmacistID, Ref: fu.ID, Points: ev.Points, Detail: detail})
	}
	if kind == flows.PointsLinkOpened && !it.SentAt.IsZero() && now.Sub(it.SentAt) < hq.FastOpenWindow {
		flag(hq.FlagFastOpen, fmt.Sprintf("opened %s after the send", now.Sub(it.SentAt).Round(time.Second)))
	}
	if addr != "" {
		addrs, err := h.cfg.Store.StoreAddresses(ctx, fu.StoreID, now.Add(-kioskAddressWindow))
		if err != nil {
			return flows.PointsEvent{}, 0, nil, err
		}
		if slices.Contains(addrs, addr) {
			flag(hq.FlagKioskAddress, fmt.Sprintf("%s from %s, an address store %s's token syncs from", kind, addr, fu.StoreID))
		}
	}
	return ev, caps[ev.Kind], flags, nil
}

// rules are the points rules and caps of the content version fu's visit was served
// with: version 0's (Points, Caps) without Versions, for a visit HQ no longer has
// (purged) and for a version HQ does not have.
func (h *LinkHandlerT) rules(ctx context.Context, fu flows.FollowUp) (flows.PointsRules, flows.PointsCaps, error) {
	if h.cfg.Versions == nil || fu.VisitID == "" {
		return h.cfg.Points, h.cfg.Caps, nil
	}
	v, err := h.cfg.Store.Visit(ctx, fu.StoreID, fu.VisitID)
	switch {
	case errors.Is(err, hq.ErrNotFound):
		return h.cfg.Points, h.cfg.Caps, nil
	case err != nil:
		return nil, nil, err
	case v.ContentVersion == 0:
		return h.cfg.Points, h.cfg.Caps, nil
	}
	rules, caps, err := h.cfg.Versions.Points(ctx, v.ContentVersion)
	switch {
	case errors.Is(err, hq.ErrNotFound):
		h.cfg.Logger.Warn("follow-up of a visit served with a content version HQ does not have: version 0's points",
			"followup", fu.ID, "content_version", v.ContentVersion)
		return h.cfg.Points, h.cfg.Caps, nil
	case err != nil:
		return nil, nil, err
	}
	return rules, caps, nil
}

// kioskAddressWindow: a link opened from an address a store's token used within this
// long is flagged FlagKioskAddress.
const kioskAddressWindow = 30 * 24 * time.Hour

func (h *LinkHandlerT) open(w http.ResponseWriter, r *http.Request) {
	id, ok := h.verify(w, r)
	if !ok {
		return
	}
	now := h.cfg.Now()
	it, err := h.cfg.Store.FollowUp(r.Context(), id)
	if errors.Is(err, hq.ErrNotFound) {
		h.plain(w, http.StatusNotFound, "链接无效", "无法识别此链接。")
		return
	}
	var out hq.LinkOutcome
	if err == nil {
		// The event is of the follow-up's own store and pharmacist, fields that never change.
		var ev flows.PointsEvent
		var flags []hq.Flag
		var dailyCap int
		if ev, dailyCap, flags, err = h.credit(r.Context(), it, flows.PointsLinkOpened, now, h.clientAddr(r)); err == nil {
			out, err = h.cfg.Store.OpenLink(r.Context(), hq.LinkOpen{ID: id, At: now, Points: ev, Flags: flags, DailyCap: dailyCap, Audit: []hq.AuditEntry{{At: now,
				Actor: "customer-link", Action: "link.click", Detail: fmt.Sprintf("followup=%s pharmacist=%s points=%d", id, it.FollowUp.PharmacistID, ev.Points)}}})
		}
	}
	if err != nil {
		h.cfg.Logger.Error("record link open", "followup", id, "err", err)
		h.plain(w, hq.FailStatus(w.Header(), err), "暂时无法打开", "服务暂时不可用，请稍后再试。")
		return
	}
	if !out.First {
		h.counts.add(now, "link.repeat", "opened_before")
		h.plain(w, http.StatusOK, "提醒已查看", "此提醒链接已打开过。如需预约复诊，请联系门店药师。")
		return
	}
	today := flows.DayOf(now)
	h.render(w, http.StatusOK, pageData{
		Title:    "用药提醒",
		Reminder: out.Item.FollowUp.Text,
		Store:    h.cfg.StoreName(out.Item.FollowUp.StoreID),
		Action:   "/f/" + r.PathValue("token") + "/book",
		MinDate:  (today + 1).String(),
		MaxDate:  (today + flows.Day(h.cfg.BookingDays)).String(),
		Slots:    Slots(),
	})
}

func (h *LinkHandlerT) book(w http.ResponseWriter, r *http.Request) {
	id, ok := h.verify(w, r)
	if !ok {
		return
	}
	now := h.cfg.Now()
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		h.plain(w, http.StatusBadRequest, "预约失败", "表单无法识别，请返回重试。")
		return
	}
	today := flows.DayOf(now)
	date, err := flows.ParseDay(r.PostForm.Get("date"))
	if err != nil || date <= today || date > today+flows.Day(h.cfg.BookingDays) {
		h.plain(w, http.StatusBadRequest, "预约失败", fmt.Sprintf("请选择 %s 至 %s 之间的日期。", today+1, today+flows.Day(h.cfg.BookingDays)))
		return
	}
	slot := r.PostForm.Get("slot")
	label, ok := slotLabel(slot)
	if !ok {
		h.plain(w, http.StatusBadRequest, "预约失败", "请选择预约时段。")
		return
	}
	it, err := h.cfg.Store.FollowUp(r.Context(), id)
	if errors.Is(err, hq.ErrNotFound) {
		h.plain(w, http.StatusNotFound, "链接无效", "无法识别此链接。")
		return
	}
	var out hq.LinkOutcome
	if err == nil {
		var ev flows.PointsEvent
		var flags []hq.Flag
		var dailyCap int
		if ev, dailyCap, flags, err = h.credit(r.Context(), it, flows.PointsRevisitBooked, now, h.clientAddr(r)); err == nil {
			out, err = h.cfg.Store.BookRevisit(r.Context(), hq.RevisitBooking{ID: id, Date: date, Slot: slot, At: now, Points: ev, Flags: flags, DailyCap: dailyCap,
				Audit: []hq.AuditEntry{{At: now, Actor: "customer-link", Action: "link.book",
					Detail: fmt.Sprintf("followup=%s date=%s slot=%s points=%d", id, date, slot, ev.Points)}}})
		}
	}
	switch {
	case err != nil:
		h.cfg.Logger.Error("record booking", "followup", id, "err", err)
		h.plain(w, hq.FailStatus(w.Header(), err), "预约失败", "服务暂时不可用，请稍后再试。")
	case !out.Opened:
		h.plain(w, http.StatusConflict, "预约失败", "请先打开提醒链接。")
	case !out.First:
		h.plain(w, http.StatusOK, "已预约", "此链接已完成预约，无需重复提交。")
	default:
		h.render(w, http.StatusOK, pageData{Title: "预约成功", Store: h.cfg.StoreName(out.Item.FollowUp.StoreID),
			Booked: fmt.Sprintf("%s %s", date, label)})
	}
}

// pageData feeds the page template. It never holds customer identity.
type pageData struct {
	Title    string
	Message  string // plain pages
	Reminder string
	Store    string
	Action   string
	MinDate  string
	MaxDate  string
	Slots    []Slot
	Booked   string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style>
body{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f4f6f8;color:#1f2933;font-size:17px;line-height:1.6}
main{max-width:34rem;margin:0 auto;padding:1.2rem}
h1{font-size:1.35rem;margin:.4rem 0 1rem;color:#0b6e4f}
.card{background:#fff;border-radius:12px;padding:1rem 1.1rem;margin-bottom:1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.reminder{white-space:pre-wrap}
label{display:block;margin:.6rem 0 .25rem;font-weight:600}
input,select,button{font-size:1rem;width:100%;box-sizing:border-box;padding:.7rem;border:1px solid #cbd2d9;border-radius:8px;background:#fff}
button{margin-top:1rem;background:#0b6e4f;color:#fff;border:none;font-weight:600}
.muted{color:#616e7c;font-size:.9rem}
</style></head><body><main>
<h1>{{.Title}}</h1>
{{if .Message}}<div class="card"><p>{{.Message}}</p></div>{{end}}
{{if .Reminder}}<div class="card"><p class="reminder">{{.Reminder}}</p>{{if .Store}}<p class="muted">来自门店 {{.Store}} 的药师</p>{{end}}</div>{{end}}
{{if .Action}}<form class="card" method="post" action="{{.Action}}">
<strong>预约复诊</strong>
<label for="date">日期</label><input id="date" name="date" type="date" value="{{.MinDate}}" min="{{.MinDate}}" max="{{.MaxDate}}" required>
<label for="slot">时段</label><select id="slot" name="slot" required>{{range .Slots}}<option value="{{.ID}}">{{.Label}}</option>{{end}}</select>
<button type="submit">提交预约</button>
</form>{{end}}
{{if .Booked}}<div class="card"><p>已为您预约复诊：{{.Booked}}</p>{{if .Store}}<p class="muted">门店 {{.Store}} 的药师会为您做好准备。</p>{{end}}</div>{{end}}
</main></body></html>
`))

func (h *LinkHandlerT) render(w http.ResponseWriter, code int, d pageData) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		h.cfg.Logger.Error("render link page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (h *LinkHandlerT) plain(w http.ResponseWriter, code int, title, msg string) {
	h.render(w, code, pageData{Title: title, Message: msg})
}

// limiter is a token bucket per client key, held by the handler. It remembers at most
// max clients: when full, the least recently seen is forgotten (its bucket would be
// full again by now or soon), so a flood of addresses costs the flooder's own buckets
// and never locks everyone out.
type limiter struct {
	rate  float64
	burst float64
	max   int
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]*list.Element // of *bucket, most recently seen at the front
	lru   *list.List
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

const limiterMaxKeys = 10000

func newLimiter(rate float64, burst, max int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, now: now, m: map[string]*list.Element{}, lru: list.New()}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var b *bucket
	if e, ok := l.m[key]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
	} else {
		for l.lru.Len() >= l.max {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.m, old.Value.(*bucket).key)
		}
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.m[key] = l.lru.PushFront(b)
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

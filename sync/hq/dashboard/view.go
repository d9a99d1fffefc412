package dashboard

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/wire"
)

// Step labels of the funnel and heat map.

type funnelBar struct {
	Label string
	Count int
	Pct   float64
}

type heatRow struct {
	Key, StoreID, PharmacistID string
	Label                      string // the row's pharmacist by name: S001/P01 王芳
	Visits                     int
	Pct                        [4]float64
}

type view struct {
	CSRF, From, To, Sort, Dir string
	Chain                     wire.CompletionRow
	Stores                    []wire.CompletionRow
	Funnel                    []funnelBar
	Heat                      []heatRow
	Trend                     []wire.CompletionRow
	Points                    []wire.PointsRow
	Overdue                   []followup.OverdueRow
	Flags                     []hq.Flag
	FunnelSVG, HeatSVG        template.HTML
	TrendSVG                  template.HTML
	SortLinks                 map[string]string
	Generated                 string
	ContentPage               bool              // the 内容管理 page is mounted
	EffectPage                bool              // the 效果验证 page is mounted
	names                     map[string]string // "store/pharmacist id" → name
}

// Who is a pharmacist by name and id ("王芳 P01"), or the id alone when the store's
// roster does not name them.
func (v *view) Who(storeID, pharmacistID string) string {
	if n := v.names[storeID+"/"+pharmacistID]; n != "" && pharmacistID != "" {
		return n + " " + pharmacistID
	}
	return pharmacistID
}

// pharmacistNames reads the rosters of the stores the view shows.
func (h *Handler) pharmacistNames(ctx context.Context, v *view, pharm []wire.CompletionRow) error {
	stores := map[string]bool{}
	for _, r := range pharm {
		stores[r.StoreID] = true
	}
	for _, p := range v.Points {
		stores[p.StoreID] = true
	}
	for _, o := range v.Overdue {
		stores[o.StoreID] = true
	}
	for _, f := range v.Flags {
		stores[f.StoreID] = true
	}
	v.names = map[string]string{}
	for id := range stores {
		if id == "" {
			continue
		}
		ps, err := h.cfg.Data.Roster(ctx, id)
		if err != nil {
			return fmt.Errorf("roster of %s: %w", id, err)
		}
		for _, p := range ps {
			v.names[id+"/"+p.ID] = p.Name
		}
	}
	return nil
}

func pct(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return math.Round(float64(n)*1000/float64(d)) / 10
}

func funnelCounts(f wire.Funnel) [4]int {
	return [4]int{f.Identified, f.Questionnaire, f.Recommended, f.FollowUp}
}

// requestView builds the view for the request's period (?from=&to=) and sort
// (?sort=&dir=); on a bad period or a data error it answers the request itself.
func (h *Handler) requestView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	from, to, err := h.period(r)
	if err != nil {
		http.Error(w, "bad period: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	v, err := h.build(r.Context(), from, to, r.URL.Query().Get("sort"), r.URL.Query().Get("dir"))
	if err != nil {
		h.cfg.Logger.Error("dashboard data", "route", r.Pattern, "err", err)
		http.Error(w, "dashboard data unavailable", hq.FailStatus(w.Header(), err))
		return nil, false
	}
	return v, true
}

func (h *Handler) build(ctx context.Context, from, to flows.Day, sortBy, dir string) (*view, error) {
	v := &view{From: from.String(), To: to.String(), Generated: h.cfg.Now().In(flows.Shanghai()).Format("2006-01-02 15:04")}
	var err error
	if v.Stores, err = h.cfg.Data.Completion(ctx, Query{From: from, To: to, GroupBy: "store"}); err != nil {
		return nil, fmt.Errorf("completion by store: %w", err)
	}
	pharm, err := h.cfg.Data.Completion(ctx, Query{From: from, To: to, GroupBy: "pharmacist"})
	if err != nil {
		return nil, fmt.Errorf("completion by pharmacist: %w", err)
	}
	trendFrom := max(from, to-29)
	days, err := h.cfg.Data.Completion(ctx, Query{From: trendFrom, To: to, GroupBy: "day"})
	if err != nil {
		return nil, fmt.Errorf("completion by day: %w", err)
	}
	if v.Points, err = h.cfg.Data.Points(ctx); err != nil {
		return nil, fmt.Errorf("points: %w", err)
	}
	if v.Overdue, err = h.cfg.Data.Overdue(ctx, h.cfg.Now()); err != nil {
		return nil, fmt.Errorf("overdue: %w", err)
	}
	if v.Flags, err = h.cfg.Data.Flags(ctx); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	if err := h.pharmacistNames(ctx, v, pharm); err != nil {
		return nil, err
	}
	// Chain totals.
	v.Chain.Key = "全连锁"
	for _, r := range v.Stores {
		v.Chain.Visits += r.Visits
		v.Chain.Completed += r.Completed
		v.Chain.Funnel.Identified += r.Funnel.Identified
		v.Chain.Funnel.Questionnaire += r.Funnel.Questionnaire
		v.Chain.Funnel.Recommended += r.Funnel.Recommended
		v.Chain.Funnel.FollowUp += r.Funnel.FollowUp
	}
	v.Chain.Rate = pct(v.Chain.Completed, v.Chain.Visits)
	fc := funnelCounts(v.Chain.Funnel)
	steps := h.stepLabels()
	for i, l := range steps {
		v.Funnel = append(v.Funnel, funnelBar{Label: l, Count: fc[i], Pct: pct(fc[i], v.Chain.Visits)})
	}
	for _, r := range pharm {
		c := funnelCounts(r.Funnel)
		hr := heatRow{Key: r.Key, StoreID: r.StoreID, PharmacistID: r.PharmacistID, Visits: r.Visits, Label: r.Key}
		if n := v.names[r.StoreID+"/"+r.PharmacistID]; n != "" {
			hr.Label = r.Key + " " + n
		}
		for i := range c {
			hr.Pct[i] = pct(c[i], r.Visits)
		}
		v.Heat = append(v.Heat, hr)
	}
	// 30 days, one point per day (days without visits have none).
	byDay := map[string]wire.CompletionRow{}
	for _, r := range days {
		k := r.Day
		if k == "" {
			k = r.Key
		}
		byDay[k] = r
	}
	for d := trendFrom; d <= to; d++ {
		r, ok := byDay[d.String()]
		if !ok {
			r = wire.CompletionRow{Key: d.String(), Day: d.String()}
		}
		if r.Day == "" {
			r.Day = d.String()
		}
		v.Trend = append(v.Trend, r)
	}
	sort.SliceStable(v.Points, func(i, j int) bool {
		if v.Points[i].Points != v.Points[j].Points {
			return v.Points[i].Points > v.Points[j].Points
		}
		return v.Points[i].StoreID+v.Points[i].PharmacistID < v.Points[j].StoreID+v.Points[j].PharmacistID
	})
	v.Sort, v.Dir = sortStores(v.Stores, sortBy, dir)
	v.SortLinks = map[string]string{}
	for _, col := range []string{"store", "visits", "completed", "rate"} {
		nd := "desc"
		if col == v.Sort && v.Dir == "desc" {
			nd = "asc"
		}
		q := url.Values{"from": {v.From}, "to": {v.To}, "sort": {col}, "dir": {nd}}
		v.SortLinks[col] = "/?" + q.Encode() + "#stores"
	}
	v.FunnelSVG = funnelSVG(v.Funnel)
	v.HeatSVG = heatSVG(v.Heat, steps)
	v.TrendSVG = trendSVG(v.Trend)
	return v, nil
}

func sortStores(rows []wire.CompletionRow, by, dir string) (string, string) {
	switch by {
	case "store", "visits", "completed", "rate":
	default:
		by = "rate"
	}
	if dir != "asc" {
		dir = "desc"
	}
	less := func(a, b wire.CompletionRow) bool {
		switch by {
		case "store":
			return a.Key < b.Key
		case "visits":
			return a.Visits < b.Visits
		case "completed":
			return a.Completed < b.Completed
		}
		return a.Rate < b.Rate
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if dir == "asc" {
			return less(rows[i], rows[j])
		}
		return less(rows[j], rows[i])
	})
	return by, dir
}

var funcs = template.FuncMap{
	"f1":       func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"ts":       func(t time.Time) string { return fmtTime(t) },
	"reasonZh": reasonZh,
	"flagZh":   hq.FlagLabel,
	"add1":     func(i int) int { return i + 1 },
	"prev":     func(i int) int { return max(i-1, 0) },
	"shortHash": func(h string) string {
		h = strings.TrimPrefix(h, "sha256:")
		if len(h) > 12 {
			h = h[:12]
		}
		return h
	},
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(flows.Shanghai()).Format("01-02 15:04")
}

func reasonZh(r string) string {
	switch r {
	case followup.OverdueNotSent:
		return "未确认发送（到期 2 小时）"
	case followup.OverdueNotOpened:
		return "未打开（发送 72 小时）"
	}
	return r
}

// --- inline SVG charts (no script, no external assets) ---

func esc(s string) string { return html.EscapeString(s) }

func funnelSVG(bars []funnelBar) template.HTML {
	const w, rowH, labelW = 600, 34, 110
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="步骤漏斗" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, w, rowH*len(bars)+8)
	for i, bar := range bars {
		y := 4 + i*rowH
		bw := (w - labelW - 120) * int(math.Round(bar.Pct*10)) / 1000
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="13" fill="#1f2933">%s</text>`, y+20, esc(bar.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="24" rx="3" fill="#e4e7eb"/>`, labelW, y+4, w-labelW-120)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="24" rx="3" fill="#0b6e4f"><title>%s: %d (%.1f%%)</title></rect>`, labelW, y+4, bw, esc(bar.Label), bar.Count, bar.Pct)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" fill="#1f2933">%d · %.1f%%</text>`, w-112, y+20, bar.Count, bar.Pct)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// heatColor blends #f0f4f8 → #0b6e4f by p (0–100).
func heatColor(p float64) string {
	t := math.Max(0, math.Min(1, p/100))
	mix := func(a, b int) int { return int(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	return fmt.Sprintf("#%02x%02x%02x", mix(0xf0, 0x0b), mix(0xf4, 0x6e), mix(0xf8, 0x4f))
}

func heatSVG(rows []heatRow, stepLabels []string) template.HTML {
	const labelW, cellW, cellH, top = 170, 180, 30, 26
	w := labelW + cellW*4
	hgt := top + cellH*len(rows) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="药师×步骤热力图" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, w, hgt)
	for j, l := range stepLabels {
		fmt.Fprintf(&b, `<text x="%d" y="17" font-size="14" text-anchor="middle" fill="#1f2933">%s</text>`, labelW+j*cellW+cellW/2, esc(l))
	}
	for i, r := range rows {
		y := top + i*cellH
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="14" fill="#1f2933">%s</text>`, y+20, esc(r.Label))
		for j, p := range r.Pct {
			fill := heatColor(p)
			text := "#1f2933"
			if p > 55 {
				text = "#ffffff"
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#ffffff"><title>%s %s: %.1f%%</title></rect>`,
				labelW+j*cellW, y, cellW, cellH, fill, esc(r.Label), esc(stepLabels[j]), p)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" text-anchor="middle" fill="%s">%.0f%%</text>`, labelW+j*cellW+cellW/2, y+20, text, p)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func trendSVG(days []wire.CompletionRow) template.HTML {
	const w, hgt, left, bottom, top = 600, 200, 36, 24, 10
	plotW, plotH := float64(w-left-10), float64(hgt-bottom-top)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="30 天完成率趋势" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, w, hgt)
	for _, g := range []int{0, 50, 100} {
		y := float64(top) + plotH*(1-float64(g)/100)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e7eb"/><text x="0" y="%.1f" font-size="11" fill="#616e7c">%d%%</text>`, left, w-10, y, y, y+4, g)
	}
	n := len(days)
	step := plotW
	if n > 1 {
		step = plotW / float64(n-1)
	}
	var pts []string
	for i, d := range days {
		x := float64(left) + step*float64(i)
		if (i%7 == 0 && n-1-i >= 4) || i == n-1 {
			label := d.Day
			if len(label) == 10 {
				label = label[5:]
			}
			anchor := "middle"
			if i == n-1 && n > 1 {
				anchor = "end"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="%s" fill="#616e7c">%s</text>`, x, hgt-6, anchor, esc(label))
		}
		if d.Visits == 0 {
			continue
		}
		y := float64(top) + plotH*(1-d.Rate/100)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#0b6e4f"><title>%s: %.1f%% (%d/%d)</title></circle>`, x, y, esc(d.Day), d.Rate, d.Completed, d.Visits)
	}
	if len(pts) > 1 {
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#0b6e4f" stroke-width="2" points="%s"/>`, strings.Join(pts, " "))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// --- CSV export ---

// Exportable tables.
var tables = map[string]string{
	"stores.csv": "per-store completion", "pharmacists.csv": "pharmacist × step", "trend.csv": "30-day trend",
	"funnel.csv": "step funnel", "points.csv": "points leaderboard", "overdue.csv": "overdue follow-ups",
}

// cell defuses spreadsheet formulas in exported text.
func cell(s string) string {
	if s != "" && strings.ContainsAny(s[:1], "=+-@\t\r") {
		return "'" + s
	}
	return s
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.current(r); !ok {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	name := r.PathValue("table")
	if _, ok := tables[name]; !ok {
		http.NotFound(w, r)
		return
	}
	v, ok := h.requestView(w, r)
	if !ok {
		return
	}
	var rows [][]string
	f1 := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
	itoa := strconv.Itoa
	switch name {
	case "stores.csv":
		rows = append(rows, []string{"store_id", "visits", "completed", "rate", "identified", "questionnaire", "recommended", "followup"})
		for _, s := range v.Stores {
			rows = append(rows, []string{cell(s.Key), itoa(s.Visits), itoa(s.Completed), f1(s.Rate),
				itoa(s.Funnel.Identified), itoa(s.Funnel.Questionnaire), itoa(s.Funnel.Recommended), itoa(s.Funnel.FollowUp)})
		}
	case "pharmacists.csv":
		rows = append(rows, []string{"key", "store_id", "pharmacist_id", "visits", "step1_pct", "step2_pct", "step3_pct", "step4_pct", "pharmacist_name"})
		for _, p := range v.Heat {
			rows = append(rows, []string{cell(p.Key), cell(p.StoreID), cell(p.PharmacistID), itoa(p.Visits), f1(p.Pct[0]), f1(p.Pct[1]), f1(p.Pct[2]), f1(p.Pct[3]),
				cell(v.names[p.StoreID+"/"+p.PharmacistID])})
		}
	case "trend.csv":
		rows = append(rows, []string{"day", "visits", "completed", "rate"})
		for _, d := range v.Trend {
			rows = append(rows, []string{d.Day, itoa(d.Visits), itoa(d.Completed), f1(d.Rate)})
		}
	case "funnel.csv":
		rows = append(rows, []string{"step", "visits_reached", "pct_of_visits"})
		for i, f := range v.Funnel {
			rows = append(rows, []string{itoa(i + 1), itoa(f.Count), f1(f.Pct)})
		}
	case "points.csv":
		rows = append(rows, []string{"rank", "store_id", "pharmacist_id", "points", "pharmacist_name"})
		for i, p := range v.Points {
			rows = append(rows, []string{itoa(i + 1), cell(p.StoreID), cell(p.PharmacistID), itoa(p.Points), cell(v.names[p.StoreID+"/"+p.PharmacistID])})
		}
	case "overdue.csv":
		rows = append(rows, []string{"followup_id", "store_id", "pharmacist_id", "reason", "status", "due_at", "sent_at", "overdue_since", "pharmacist_name"})
		for _, o := range v.Overdue {
			sent := ""
			if !o.SentAt.IsZero() {
				sent = o.SentAt.Format(time.RFC3339)
			}
			rows = append(rows, []string{cell(o.FollowUpID), cell(o.StoreID), cell(o.PharmacistID), o.Reason, o.Status,
				o.DueAt.Format(time.RFC3339), sent, o.OverdueSince.Format(time.RFC3339), cell(v.names[o.StoreID+"/"+o.PharmacistID])})
		}
	}
	h.audit(r.Context(), "export", fmt.Sprintf("table=%s from=%s to=%s rows=%d", name, v.From, v.To, len(rows)-1))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, strings.TrimSuffix(name, ".csv"), v.To))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("\ufeff")) // BOM: Excel opens UTF-8 correctly
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
}

// stepLabels are the four steps' names, numbered (1 进店识别 …), from the translations.
func (h *Handler) stepLabels() []string {
	out := make([]string, 0, 4)
	for s := flows.StepIdentify; s <= flows.StepFollowUp; s++ {
		out = append(out, fmt.Sprintf("%d %s", s, i18n.StepName(h.zh.L, s)))
	}
	return out
}

package dashboard

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/effect"
	"github.com/pharmachain/counter/sync/hq/effectreport"
	"github.com/pharmachain/counter/sync/wire"
)

// The 效果验证 page: per chronic class, the served and comparison cohorts'
// before and after with the effect's 95 % interval drawn, every outcome, the strata
// table, recommendation conversion and the three process-health dimensions; CSV export
// of each. The numbers come from effectreport (docs/effect.md); this file only renders.
// Mounted when Config.Effect is set.

func (h *Handler) effectRoutes() {
	h.mux.HandleFunc("GET /effect", h.effectPage)
	h.mux.HandleFunc("GET /effect/export/{table}", h.effectExport)
}

var outcomeZh = map[string]string{
	effect.OutcomePDC:       "90 天用药覆盖率（PDC）",
	effect.OutcomeRevisit30: "30 天内复购",
	effect.OutcomeRxBasket:  "处方药客单价（每单）",
	effect.OutcomeNonDrug:   "非药品消费",
}

// fmtOutcome formats an outcome's value: PDC and revisit as percent, money as yuan.
func fmtOutcome(name string, x float64) string {
	switch name {
	case effect.OutcomePDC, effect.OutcomeRevisit30:
		return strconv.FormatFloat(x*100, 'f', 1, 64) + "%"
	}
	return "¥" + strconv.FormatFloat(x/100, 'f', 2, 64)
}

// fmtDiff formats a difference: percentage points or yuan, with its sign.
func fmtDiff(name string, x float64) string {
	sign := "+"
	if x < 0 {
		sign = "−"
		x = -x
	}
	switch name {
	case effect.OutcomePDC, effect.OutcomeRevisit30:
		return sign + strconv.FormatFloat(x*100, 'f', 1, 64) + " 个百分点"
	}
	return sign + "¥" + strconv.FormatFloat(x/100, 'f', 2, 64)
}

type outcomeRow struct {
	Name, Label                   string
	OK                            bool
	MatchedServed, Unmatched      int
	ServedBefore, ServedAfter     string
	CompBefore, CompAfter         string
	Effect, Interval              string
	Significant                   bool // the interval excludes 0
	IntervalSVG                   template.HTML
	Dropped                       int
	StrataTotal, StrataMatched    int
	ServedChange, ComparisonChnge string
}

type classCard struct {
	Class, Label string
	Served, Comp effect.CohortCount
	Rows         []outcomeRow
	SlopeSVG     template.HTML
	Strata       []effect.Stratum // of the PDC outcome
}

type effectView struct {
	CSRF                 string
	From, To, AsOf       string
	StoreID, Class       string
	Stores               []string
	Source, Computed     string
	Classes              []classCard
	Conversion           effect.Conversion
	Health               *wire.HealthResponse
	HealthRows           []effect.HealthRow
	Error                string
	ContentPage          bool
	ExportQuery          string
	TargetCompletenessPc string
	TargetCoordinationPc string
	// ClassOptions are the chronic classes for the selector, named by the translations.
	ClassOptions []classOption
}

// classOption is one chronic class in the selector.
type classOption struct{ Value, Label string }

// effectPeriod reads ?from=&to=&store_id=&class=; the default period is the year
// whose customers are all mature: to = today − 89 d, from = to − 364 d.
func (h *Handler) effectPeriod(r *http.Request) (effect.Params, error) {
	today := flows.DayOf(h.cfg.Now())
	p := effect.Params{To: today - effect.FollowUpDays + 1}
	p.From = p.To - 364
	q := r.URL.Query()
	for _, f := range []struct {
		name string
		dst  *flows.Day
	}{{"from", &p.From}, {"to", &p.To}} {
		if s := q.Get(f.name); s != "" {
			d, err := flows.ParseDay(s)
			if err != nil {
				return p, fmt.Errorf("%s: %w", f.name, err)
			}
			*f.dst = d
		}
	}
	if p.From > p.To {
		return p, errors.New("from is after to")
	}
	p.StoreID = q.Get("store_id")
	p.Class = q.Get("class")
	switch p.Class {
	case "", flows.ClassHypertension, flows.ClassDiabetes, flows.ClassHyperlipidemia:
	default:
		return p, fmt.Errorf("class %q", p.Class)
	}
	return p, nil
}

func (h *Handler) effectData(ctx context.Context, p effect.Params) (*wire.EffectResponse, *wire.HealthResponse, error) {
	rep, err := h.cfg.Effect.Effect(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	hl, err := h.cfg.Effect.Health(ctx, effect.HealthParams{From: p.From, To: p.To, StoreID: p.StoreID})
	if err != nil {
		return nil, nil, err
	}
	return &rep, &hl, nil
}

func (h *Handler) effectPage(w http.ResponseWriter, r *http.Request) {
	_, s, ok := h.current(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	var classes []classOption
	for _, c := range flows.Classes() {
		classes = append(classes, classOption{c, i18n.ClassName(h.zh.L, c)})
	}
	v := &effectView{CSRF: s.CSRF, ContentPage: h.cfg.Content != nil, ClassOptions: classes,
		TargetCompletenessPc: "95%", TargetCoordinationPc: "85%"}
	p, err := h.effectPeriod(r)
	v.From, v.To, v.StoreID, v.Class = p.From.String(), p.To.String(), p.StoreID, p.Class
	code := http.StatusOK
	if err != nil {
		v.Error, code = "查询条件无效："+err.Error(), http.StatusBadRequest
		h.render(w, code, "effect.html", v)
		return
	}
	q := url.Values{"from": {v.From}, "to": {v.To}}
	if p.StoreID != "" {
		q.Set("store_id", p.StoreID)
	}
	if p.Class != "" {
		q.Set("class", p.Class)
	}
	v.ExportQuery = q.Encode()
	if stores, err := h.storeList(r.Context()); err == nil {
		v.Stores = stores
	}
	rep, hl, err := h.effectData(r.Context(), p)
	switch {
	case errors.Is(err, effectreport.ErrNotReady):
		v.Error, code = "全连锁报告正在生成（每晚预先计算），请一分钟后刷新。", http.StatusServiceUnavailable
	case errors.Is(err, effectreport.ErrInput):
		v.Error, code = "查询条件无效："+err.Error(), http.StatusBadRequest
	case err != nil:
		h.cfg.Logger.Error("effect page", "err", err)
		v.Error, code = "报告暂时无法生成，请查看总部日志。", http.StatusInternalServerError
	default:
		h.fillEffectView(v, rep, hl)
	}
	h.render(w, code, "effect.html", v)
}

// storeList is every store with visits in the completion rollups (the selector).
func (h *Handler) storeList(ctx context.Context) ([]string, error) {
	today := flows.DayOf(h.cfg.Now())
	rows, err := h.cfg.Data.Completion(ctx, Query{From: today - 730, To: today, GroupBy: "store"})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Key)
	}
	return out, nil
}

func (h *Handler) fillEffectView(v *effectView, rep *wire.EffectResponse, hl *wire.HealthResponse) {
	v.AsOf = rep.AsOf.String()
	v.Source = rep.Source
	v.Computed = rep.ComputedAt.In(flows.Shanghai()).Format("2006-01-02 15:04")
	v.Conversion = rep.Conversion
	v.Health = hl
	if hl.Chain != nil {
		v.HealthRows = append(v.HealthRows, *hl.Chain)
		v.HealthRows[0].StoreID = "全连锁"
	}
	v.HealthRows = append(v.HealthRows, hl.Stores...)
	for _, c := range rep.Classes {
		card := classCard{Class: c.Class, Label: i18n.ClassName(h.zh.L, c.Class), Served: c.Served, Comp: c.Comparison}
		for _, o := range c.Outcomes {
			row := outcomeRow{Name: o.Name, Label: outcomeZh[o.Name], OK: o.Status == effect.StatusOK,
				MatchedServed: o.MatchedServed, Unmatched: o.UnmatchedServed, Dropped: o.DroppedResamples}
			for _, st := range o.Strata {
				row.StrataTotal++
				if st.Matched {
					row.StrataMatched++
				}
			}
			if row.OK {
				if o.Served.Before != nil {
					row.ServedBefore, row.CompBefore = fmtOutcome(o.Name, *o.Served.Before), fmtOutcome(o.Name, *o.Comparison.Before)
				}
				row.ServedAfter, row.CompAfter = fmtOutcome(o.Name, o.Served.After), fmtOutcome(o.Name, o.Comparison.After)
				row.Effect = fmtDiff(o.Name, *o.Effect)
				row.Interval = fmtDiff(o.Name, *o.Low) + " … " + fmtDiff(o.Name, *o.High)
				row.Significant = *o.Low > 0 || *o.High < 0
				row.IntervalSVG = intervalSVG(o)
			}
			card.Rows = append(card.Rows, row)
			if o.Name == effect.OutcomePDC {
				card.Strata = o.Strata
				if row.OK {
					card.SlopeSVG = slopeSVG(card.Label, o)
				}
			}
		}
		v.Classes = append(v.Classes, card)
	}
}

// slopeSVG draws the PDC before and after of the served and of the comparison
// (weighted to the served), 0–100 %, with the effect's interval drawn beside it.
func slopeSVG(classLabel string, o effect.Outcome) template.HTML {
	const w, hgt, top, bottom, left = 620, 220, 16, 28, 40
	plotH := float64(hgt - top - bottom)
	y := func(p float64) float64 { return float64(top) + plotH*(1-math.Max(0, math.Min(1, p))) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart slope" role="img" aria-label="%s 服务组与对照组前后对比" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, esc(classLabel), w, hgt)
	for _, g := range []float64{0, .5, 1} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e7eb"/><text x="0" y="%.1f" font-size="11" fill="#616e7c">%.0f%%</text>`, left, 330, y(g), y(g), y(g)+4, g*100)
	}
	x0, x1 := 90.0, 300.0
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="12" text-anchor="middle" fill="#616e7c">服务前 90 天</text>`, x0, hgt-8)
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="12" text-anchor="middle" fill="#616e7c">服务后 90 天</text>`, x1, hgt-8)
	line := func(id, color, label string, before, after float64) {
		fmt.Fprintf(&b, `<g id="%s"><line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="%s" stroke-width="3"/>`, id, x0, y(before), x1, y(after), color)
		fmt.Fprintf(&b, `<circle cx="%.0f" cy="%.1f" r="5" fill="%s"><title>%s 前 %.1f%%</title></circle>`, x0, y(before), color, esc(label), before*100)
		fmt.Fprintf(&b, `<circle cx="%.0f" cy="%.1f" r="5" fill="%s"><title>%s 后 %.1f%%</title></circle>`, x1, y(after), color, esc(label), after*100)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" fill="%s">%s %.1f%%</text></g>`, x1+10, y(after)+4, color, esc(label), after*100)
	}
	line("slope-served", "#0b6e4f", "服务组", *o.Served.Before, o.Served.After)
	line("slope-comparison", "#9aa5b1", "对照组", *o.Comparison.Before, o.Comparison.After)
	// The effect and its 95 % interval, in percentage points, on its own axis.
	ax0, ax1 := 400.0, 610.0
	lo, hi := math.Min(0, *o.Low), math.Max(0, *o.High)
	pad := (hi - lo) * 0.1
	if pad == 0 {
		pad = 0.01
	}
	lo, hi = lo-pad, hi+pad
	xv := func(v float64) float64 { return ax0 + (ax1-ax0)*(v-lo)/(hi-lo) }
	mid := float64(top) + plotH/2
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" font-size="12" text-anchor="middle" fill="#616e7c">效果（个百分点）与 95%% 区间</text>`, (ax0+ax1)/2, hgt-8)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#cbd2d9" stroke-dasharray="4 3"/><text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#616e7c">0</text>`,
		xv(0), xv(0), top, hgt-bottom, xv(0), top+10)
	fmt.Fprintf(&b, `<g id="effect-interval"><line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#1f2933" stroke-width="2"/>`, xv(*o.Low), xv(*o.High), mid, mid)
	for _, v := range []float64{*o.Low, *o.High} {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#1f2933" stroke-width="2"/>`, xv(v), xv(v), mid-8, mid+8)
	}
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="6" fill="#0b6e4f"><title>效果 %+.1f 个百分点，95%% 区间 %+.1f … %+.1f</title></circle>`, xv(*o.Effect), mid, *o.Effect*100, *o.Low*100, *o.High*100)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle" fill="#1f2933">%+.1f</text></g>`, xv(*o.Effect), mid-14, *o.Effect*100)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// intervalSVG is a small forest-plot cell: the effect with its interval and 0.
func intervalSVG(o effect.Outcome) template.HTML {
	const w, hgt = 160, 22
	lo, hi := math.Min(0, *o.Low), math.Max(0, *o.High)
	pad := (hi - lo) * 0.1
	if pad == 0 {
		pad = 1e-9
	}
	lo, hi = lo-pad, hi+pad
	x := func(v float64) float64 { return 4 + float64(w-8)*(v-lo)/(hi-lo) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="interval" role="img" aria-label="95%% 区间" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`, w, hgt, w, hgt)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="2" y2="20" stroke="#cbd2d9" stroke-dasharray="3 2"/>`, x(0), x(0))
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="11" y2="11" stroke="#1f2933" stroke-width="2"/>`, x(*o.Low), x(*o.High))
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="11" r="4" fill="#0b6e4f"/></svg>`, x(*o.Effect))
	return template.HTML(b.String())
}

// Exportable effect tables.
var effectTables = map[string]bool{"effect.csv": true, "effect-strata.csv": true, "effect-conversion.csv": true, "health.csv": true}

func ftoa(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 6, 64)
}

func (h *Handler) effectExport(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.current(r); !ok {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	name := r.PathValue("table")
	if !effectTables[name] {
		http.NotFound(w, r)
		return
	}
	p, err := h.effectPeriod(r)
	if err != nil {
		http.Error(w, "bad query: "+err.Error(), http.StatusBadRequest)
		return
	}
	rep, hl, err := h.effectData(r.Context(), p)
	switch {
	case errors.Is(err, effectreport.ErrNotReady):
		w.Header().Set("Retry-After", "60")
		http.Error(w, "the chain-wide report is being prepared; retry in a minute", http.StatusServiceUnavailable)
		return
	case errors.Is(err, effectreport.ErrInput):
		http.Error(w, "bad query: "+err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		h.cfg.Logger.Error("effect export", "err", err)
		http.Error(w, "report unavailable", http.StatusInternalServerError)
		return
	}
	itoa := strconv.Itoa
	f6 := func(x float64) string { return strconv.FormatFloat(x, 'f', 6, 64) }
	var rows [][]string
	switch name {
	case "effect.csv":
		rows = append(rows, []string{"class", "outcome", "status", "matched_served", "unmatched_served", "matched_comparison",
			"served_before", "served_after", "served_change", "comparison_before", "comparison_after", "comparison_change",
			"effect", "low95", "high95", "resamples", "seed", "as_of", "source"})
		for _, c := range rep.Classes {
			for _, o := range c.Outcomes {
				row := []string{c.Class, o.Name, o.Status, itoa(o.MatchedServed), itoa(o.UnmatchedServed), itoa(o.MatchedComparison)}
				if o.Served != nil {
					row = append(row, ftoa(o.Served.Before), f6(o.Served.After), ftoa(o.Served.Change),
						ftoa(o.Comparison.Before), f6(o.Comparison.After), ftoa(o.Comparison.Change))
				} else {
					row = append(row, "", "", "", "", "", "")
				}
				row = append(row, ftoa(o.Effect), ftoa(o.Low), ftoa(o.High), itoa(rep.Resamples), strconv.FormatUint(rep.Seed, 10), rep.AsOf.String(), rep.Source)
				rows = append(rows, row)
			}
		}
	case "effect-strata.csv":
		rows = append(rows, []string{"class", "outcome", "store_id", "level", "matched", "served_n", "served_before", "served_after", "served_change",
			"comparison_n", "comparison_before", "comparison_after", "comparison_change", "diff"})
		for _, c := range rep.Classes {
			for _, o := range c.Outcomes {
				for _, s := range o.Strata {
					rows = append(rows, []string{c.Class, o.Name, cell(s.StoreID), s.Level, strconv.FormatBool(s.Matched),
						itoa(s.Served.N), ftoa(s.Served.Before), sideAfter(s.Served), ftoa(s.Served.Change),
						itoa(s.Comparison.N), ftoa(s.Comparison.Before), sideAfter(s.Comparison), ftoa(s.Comparison.Change), ftoa(s.Diff)})
				}
			}
		}
	case "effect-conversion.csv":
		rows = append(rows, []string{"item_id", "accepted_n", "accepted_converted", "declined_n", "declined_converted"})
		cv := rep.Conversion
		rows = append(rows, []string{"(all)", itoa(cv.Accepted.N), itoa(cv.Accepted.Converted), itoa(cv.Declined.N), itoa(cv.Declined.Converted)})
		for _, it := range cv.Items {
			rows = append(rows, []string{cell(it.ItemID), itoa(it.Accepted.N), itoa(it.Accepted.Converted), itoa(it.Declined.N), itoa(it.Declined.Converted)})
		}
	case "health.csv":
		rows = append(rows, []string{"store_id", "visits", "step1_done", "step2_done", "step3_done", "step4_done",
			"step1_median_s", "step1_p90_s", "step2_median_s", "step2_p90_s", "step3_median_s", "step3_p90_s", "step4_median_s", "step4_p90_s",
			"visit_median_s", "visit_p90_s", "within_120s", "complete_timed", "sent_on_time", "sent_decided", "opened_72h", "opened_decided",
			"overdue", "overdue_answered", "overdue_decided"})
		hrows := hl.Stores
		if hl.Chain != nil {
			c := *hl.Chain
			c.StoreID = "(chain)"
			hrows = append([]effect.HealthRow{c}, hrows...)
		}
		for _, x := range hrows {
			row := []string{cell(x.StoreID), itoa(x.Visits)}
			for _, c := range x.Completeness {
				row = append(row, itoa(c.Num))
			}
			for _, s := range x.StepSeconds {
				row = append(row, ftoa(s.Median), ftoa(s.P90))
			}
			row = append(row, ftoa(x.VisitSeconds.Median), ftoa(x.VisitSeconds.P90), itoa(x.WithinTarget.Num), itoa(x.WithinTarget.Den),
				itoa(x.SentOnTime.Num), itoa(x.SentOnTime.Den), itoa(x.Opened72h.Num), itoa(x.Opened72h.Den),
				itoa(x.Overdue), itoa(x.OverdueAnswered.Num), itoa(x.OverdueAnswered.Den))
			rows = append(rows, row)
		}
	}
	h.audit(r.Context(), "export", fmt.Sprintf("table=%s from=%s to=%s store=%s class=%s rows=%d", name, p.From, p.To, p.StoreID, p.Class, len(rows)-1))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.csv"`, strings.TrimSuffix(name, ".csv"), p.To))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
}

func sideAfter(s effect.Side) string {
	if s.N == 0 {
		return ""
	}
	return strconv.FormatFloat(s.After, 'f', 6, 64)
}

// effect template helpers.
var effectFuncs = template.FuncMap{
	"pctp": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return strconv.FormatFloat(*p*100, 'f', 1, 64) + "%"
	},
	"secs": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return strconv.FormatFloat(*p, 'f', 0, 64) + " 秒"
	},
	"share": func(s effect.Share) string {
		if s.Rate == nil {
			return "—"
		}
		return strconv.FormatFloat(*s.Rate*100, 'f', 1, 64) + "%"
	},
	"below": func(s effect.Share, target float64) bool { return s.Rate != nil && *s.Rate < target },
	"stdiff": func(name string, p *float64) string {
		if p == nil {
			return "—"
		}
		return fmtDiff(name, *p)
	},
	"stval": func(name string, s effect.Side) string {
		if s.N == 0 {
			return "—"
		}
		b := ""
		if s.Before != nil {
			b = fmtOutcome(name, *s.Before) + " → "
		}
		return b + fmtOutcome(name, s.After)
	},
	"timeZh": func(t time.Time) string { return t.In(flows.Shanghai()).Format("2006-01-02 15:04") },
}

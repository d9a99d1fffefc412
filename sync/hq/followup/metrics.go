package followup

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pharmachain/counter/sync/hq"
)

// OverdueCollector exports hq_followups_overdue{store,reason}: follow-ups not sent within
// 2 h of their due time, or not opened within 72 h of sending (the 闭环校验 rule).
// The count is computed at scrape time from the follow-up store and cached for a while so
// that frequent scrapes do not scan it again and again.
type OverdueCollector struct {
	st   hq.FollowUpStore
	now  func() time.Time
	ttl  time.Duration
	log  *slog.Logger
	desc *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	counts map[[2]string]int
}

// NewOverdueCollector builds the collector on st; counts are cached for ttl.
func NewOverdueCollector(st hq.FollowUpStore, now func() time.Time, ttl time.Duration, log *slog.Logger) *OverdueCollector {
	return &OverdueCollector{st: st, now: now, ttl: ttl, log: log,
		desc: prometheus.NewDesc("hq_followups_overdue", "Overdue follow-ups (not sent within 2 h of due, or not opened within 72 h of sending), by store and reason.",
			[]string{"store", "reason"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *OverdueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *OverdueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.counts == nil || now.Sub(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rows, err := Overdue(ctx, c.st, OverdueRule{}, "", now)
		cancel()
		if err != nil {
			c.log.Warn("overdue metric", "err", err)
		} else {
			c.counts = map[[2]string]int{}
			for _, r := range rows {
				c.counts[[2]string{r.StoreID, r.Reason}]++
			}
			c.at = now
		}
	}
	for k, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}

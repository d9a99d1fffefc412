// Command kioskdriver is the headless kiosk used by the crash suite: it replays scripted
// four-step visits through the flows engine into the real kiosk store (saving at every
// step, as the counter app does) while the real outbox drainer sends them to HQ.
//
// For every visit whose final save returned it prints "ACK <visit id>" on stdout, so a
// test that kills this process with SIGKILL knows which visits the store acknowledged.
//
//	kioskdriver --data DIR --hq URL --token T [--store S001] [--visits N] [--pause 2ms]
//	kioskdriver --data DIR --hq URL --token T --drain-only   # drain the backlog, then exit
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kioskdriver:", err)
		os.Exit(1)
	}
}

type options struct {
	data, hq, token, store string
	visits                 int
	pause                  time.Duration
	drainOnly              bool
	drainTimeout           time.Duration
	retryCap               time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("kioskdriver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", "", "kiosk data directory")
	fs.StringVar(&o.hq, "hq", "", "HQ base URL")
	fs.StringVar(&o.token, "token", "", "store token")
	fs.StringVar(&o.store, "store", "S001", "store id")
	fs.IntVar(&o.visits, "visits", 0, "visits to replay (0: until killed)")
	fs.DurationVar(&o.pause, "pause", 2*time.Millisecond, "pause between visits")
	fs.BoolVar(&o.drainOnly, "drain-only", false, "replay nothing; drain the outbox and exit")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 2*time.Minute, "with --drain-only: give up after this long")
	fs.DurationVar(&o.retryCap, "retry-after-cap", 2*time.Second, "clamp HQ's Retry-After to this (the product default is 5 min)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.data == "" || o.hq == "" || o.token == "" {
		return errors.New("--data, --hq and --token are required")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(filepath.Join(o.data, store.FileName), store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	d := drain.New(st, drain.Config{
		BaseURL: o.hq, Token: o.token, StoreID: o.store, Logger: log,
		HTTPTimeout: 3 * time.Second, RetryMax: 1, RetryWaitMin: 50 * time.Millisecond,
		RetryWaitMax: 500 * time.Millisecond, RetryAfterCap: o.retryCap, Interval: 200 * time.Millisecond,
	})
	// As the counter app does after a crash or power cut: a visit left open is abandoned.
	if err := abandonOpen(ctx, st); err != nil {
		return err
	}
	if o.drainOnly {
		return drainAll(ctx, st, d, o.drainTimeout, stdout)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	err = replay(ctx, st, d, o, stdout)
	cancel()
	<-done
	return err
}

func abandonOpen(ctx context.Context, st *store.Store) error {
	open, err := st.OpenVisits(ctx)
	if err != nil {
		return err
	}
	for _, v := range open {
		if err := flows.Abandon(&v, "crash", time.Now()); err != nil {
			return fmt.Errorf("abandon open visit %s: %w", v.ID, err)
		}
		if err := st.SaveVisit(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// drainAll sends the backlog until nothing is pending.
func drainAll(ctx context.Context, st *store.Store, d *drain.Drainer, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sent := 0
	for {
		res, err := d.DrainOnce(ctx)
		sent += res.Sent
		stats, serr := st.Stats(ctx)
		if serr != nil {
			return serr
		}
		if err == nil && stats.Pending == 0 {
			fmt.Fprintf(stdout, "DRAINED sent=%d rejected=%d\n", sent, stats.Rejected)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d still pending after %s (last error: %v)", stats.Pending, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// replay runs scripted visits; every fifth is abandoned at a random step.
func replay(ctx context.Context, st *store.Store, d *drain.Drainer, o options, stdout io.Writer) error {
	data, err := flows.LoadData(assets.FS())
	if err != nil {
		return err
	}
	qs, kb := data.Questionnaires, data.Knowledge
	zh, en, err := i18n.Both()
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	for i := 0; o.visits == 0 || i < o.visits; i++ {
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		id := ulid.Make().String() // monotonic within the process, time-ordered across restarts
		v, err := script(ctx, st, qs, kb, zh, en, data.Messages.Reminder, id, o.store, i, now)
		if err != nil {
			if ctx.Err() != nil { // stopped mid-visit: the next start abandons it
				return nil
			}
			return fmt.Errorf("visit %d: %w", i, err)
		}
		// The final save returned: the store has acknowledged the visit.
		fmt.Fprintf(out, "ACK %s %s\n", v.ID, v.Outcome)
		if err := out.Flush(); err != nil {
			return err
		}
		d.Kick()
		if o.pause > 0 {
			time.Sleep(o.pause)
		}
	}
	return nil
}

func script(ctx context.Context, st *store.Store, qs flows.QuestionnaireSet, kb *flows.KnowledgeBase, zh, en *i18n.Texts, reminder, id, storeID string, i int, now time.Time) (flows.Visit, error) {
	key := fmt.Sprintf("%032x", i%97+1)
	pharm := fmt.Sprintf("P%02d", i%3+1)
	v := flows.NewVisit(id, storeID, pharm, flows.Customer{Key: key, Masked: "1101**********002X"}, now)
	abandonAt := 0
	if i%5 == 4 {
		abandonAt = i%4 + 1
	}
	save := func() error { return st.SaveVisit(ctx, v) }
	abandon := func() (flows.Visit, error) {
		if err := flows.Abandon(&v, "pharmacist", now); err != nil {
			return v, err
		}
		return v, save()
	}
	if err := save(); err != nil {
		return v, err
	}
	if abandonAt == 1 {
		return abandon()
	}
	an := flows.Analysis{AsOf: flows.DayOf(now), Classes: []flows.ClassResult{{Class: "hypertension", PDC: 0.67, CoveredDays: 60, PeriodDays: 90, DaysWithoutSupply: 12, Fills: 2, Level: flows.LevelYellow}}}
	if err := flows.RecordIdentify(&v, an, false, now); err != nil {
		return v, err
	}
	if err := save(); err != nil {
		return v, err
	}
	if abandonAt == 2 {
		return abandon()
	}
	q := qs.For("hypertension")
	answers := map[string]string{}
	for _, qq := range q.Questions {
		if qq.Mandatory && len(qq.Choices) > 0 {
			answers[qq.ID] = qq.Choices[i%len(qq.Choices)].ID
		}
	}
	if err := flows.RecordAnswers(&v, q, answers, now); err != nil {
		return v, err
	}
	if err := save(); err != nil {
		return v, err
	}
	if abandonAt == 3 {
		return abandon()
	}
	recs, err := kb.Recommend(flows.ClassHypertension, flows.LevelYellow, answers, i18n.ReasonWords(zh.L, en.L, flows.ClassHypertension, flows.LevelYellow))
	if err != nil {
		return v, err
	}
	for j := range recs {
		acc := j == 0
		recs[j].Accepted = &acc
	}
	if err := flows.RecordRecommendations(&v, recs, now); err != nil {
		return v, err
	}
	if err := save(); err != nil {
		return v, err
	}
	if abandonAt == 4 {
		return abandon()
	}
	consent := map[string]bool{flows.ChannelWeCom: i%2 == 0}
	policy := flows.DefaultFollowUpPolicy()
	policy.Text, policy.ClassNames = reminder, i18n.FollowUpClassNames(zh.L)
	if err := flows.RecordFollowUp(&v, consent, policy, now); err != nil {
		return v, err
	}
	return v, save()
}

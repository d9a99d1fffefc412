package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pharmachain/counter/kiosk/store"
	"github.com/pharmachain/counter/sync/drain"
	"github.com/pharmachain/counter/sync/hqclient"
)

// runSync is `kiosk sync --once --data DIR [--hq URL --token T --store ID]` (drain the
// outbox to HQ now, refresh the cached roster and points, print counts),
// `kiosk sync status --data DIR` (backlog, rejected entries with HQ's reason, last sync)
// and `kiosk sync requeue --data DIR` (put rejected entries back in the queue).
func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := "once"
	if len(args) > 0 && (args[0] == "status" || args[0] == "requeue") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("sync "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	once := fs.Bool("once", false, "drain the outbox now and exit")
	hqURL := fs.String("hq", "", "HQ base URL (default: the kiosk settings' hq_url)")
	token := fs.String("token", "", "store bearer token (default: the kiosk settings' token)")
	storeID := fs.String("store", "", "store id (default: the kiosk settings' store_id)")
	verbose := fs.Bool("v", false, "log each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk sync --once --data DIR [--hq URL --token T --store ID]")
		fmt.Fprintln(stderr, "       kiosk sync status --data DIR")
		fmt.Fprintln(stderr, "       kiosk sync requeue --data DIR")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *dir == "":
		return fmt.Errorf("%w: sync: --data DIR is required", errUsage)
	case fs.NArg() > 0:
		return fmt.Errorf("%w: sync: unexpected argument %q", errUsage, fs.Arg(0))
	case sub == "once" && !*once:
		return fmt.Errorf("%w: sync: give --once (drain now), or the status / requeue sub-command", errUsage)
	}
	st, err := store.Open(store.DefaultPath(*dir), store.Options{})
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	defer st.Close()
	switch sub {
	case "status":
		return syncStatus(ctx, st, stdout)
	case "requeue":
		n, err := st.Requeue(ctx)
		if err != nil {
			return fmt.Errorf("sync requeue: %w", err)
		}
		fmt.Fprintf(stdout, "%d rejected entries back in the queue\n", n)
		return nil
	}
	var cfg struct {
		HQURL   string `json:"hq_url"`
		StoreID string `json:"store_id"`
		Token   string `json:"token"`
	}
	if err := st.LoadConfig(&cfg); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("sync: %w", err)
	}
	for _, o := range []struct{ flag, cfg *string }{{hqURL, &cfg.HQURL}, {token, &cfg.Token}, {storeID, &cfg.StoreID}} {
		if *o.flag != "" {
			*o.cfg = *o.flag
		}
	}
	if cfg.HQURL == "" || cfg.Token == "" || cfg.StoreID == "" {
		return fmt.Errorf("%w: sync: HQ URL, token and store id are needed (--hq, --token, --store or the kiosk settings)", errUsage)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d := drain.New(st, drain.Config{BaseURL: cfg.HQURL, Token: cfg.Token, StoreID: cfg.StoreID, Logger: logger,
		RetryMax: 2, HTTPTimeout: 30 * time.Second})
	res, derr := d.DrainOnce(ctx)
	s, err := st.Stats(ctx)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	fmt.Fprintf(stdout, "sent %d (accepted %d, duplicates %d) in %d batches, parked %d; pending %d, rejected %d\n",
		res.Sent, res.Accepted, res.Duplicates, res.Batches, res.Parked, s.Pending, s.Rejected)
	for _, r := range res.Rejects {
		fmt.Fprintf(stdout, "rejected: %s\n", r)
	}
	if derr != nil {
		return fmt.Errorf("sync: HQ not reached, entries kept for the next attempt: %w", derr)
	}
	// Refresh what the counter caches from HQ (best effort).
	c := hqclient.New(cfg.HQURL, cfg.Token, 5*time.Second)
	if ro, err := c.Roster(ctx); err != nil {
		fmt.Fprintf(stderr, "roster not refreshed: %v\n", err)
	} else if err := st.PutRoster(ro.StoreID, ro.Pharmacists); err != nil {
		return fmt.Errorf("sync: cache roster: %w", err)
	}
	if pts, err := c.Points(ctx); err != nil {
		fmt.Fprintf(stderr, "points not refreshed: %v\n", err)
	} else if err := st.PutPoints(pts.Rows); err != nil {
		return fmt.Errorf("sync: cache points: %w", err)
	}
	return nil
}

func syncStatus(ctx context.Context, st *store.Store, stdout io.Writer) error {
	s, err := st.Stats(ctx)
	if err != nil {
		return fmt.Errorf("sync status: %w", err)
	}
	last := "never"
	if !s.LastSync.IsZero() {
		last = s.LastSync.Local().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "pending:   %d\nrejected:  %d\nlast sync: %s\n", s.Pending, s.Rejected, last)
	if s.LastError != "" {
		fmt.Fprintf(stdout, "last error: %s\n", s.LastError)
	}
	parked, err := st.Parked(ctx)
	if err != nil {
		return fmt.Errorf("sync status: %w", err)
	}
	for _, p := range parked {
		fmt.Fprintf(stdout, "rejected %s %s (seq %d, %s): %s\n", p.Entry.Kind, p.Entry.ID, p.Entry.Seq,
			p.ParkedAt.Local().Format(time.RFC3339), strings.TrimSpace(p.Reason))
	}
	if len(parked) > 0 {
		fmt.Fprintln(stdout, "fix the cause, then `kiosk sync requeue --data DIR` sends them again")
	}
	return nil
}

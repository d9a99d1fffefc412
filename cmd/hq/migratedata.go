package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"time"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/server"
)

// runMigrateData: `hq migrate-data --from DIR --db URL` copies a stopped embedded HQ
// (DIR/hq.db) into PostgreSQL: visits, purchases, rollups, points, follow-ups with their
// state, contacts, audit, tokens, roster, sessions, secrets and content packs. It is
// safe to run again (an interrupted copy is finished, a finished one changes nothing).
// It prints each kind's count, checks the database holds at least as many, and checks
// that the completion report and the points read the same from both.
func runMigrateData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-data", stderr)
	from := fs.String("from", "", "data directory of the STOPPED embedded HQ (holds hq.db)")
	db := fs.String("db", "", "PostgreSQL database URL postgres://… (default $"+server.EnvDB+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *db == "" {
		*db = os.Getenv(server.EnvDB)
	}
	if *from == "" || *db == "" {
		return fmt.Errorf("%w: hq migrate-data --from DIR --db URL", errUsage)
	}
	if !pgstore.IsURL(*db) {
		return fmt.Errorf("%w: --db: want a postgres://… or postgresql://… URL", errUsage)
	}
	src, err := server.OpenStore(ctx, server.StoreConfig{Dir: *from, MustExist: true})
	if err != nil {
		return fmt.Errorf("migrate-data: %w (stop hq serve first: the embedded store is one process's file)", err)
	}
	defer src.Close()
	dst, err := server.OpenStore(ctx, server.StoreConfig{DB: *db})
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	defer dst.Close()
	fmt.Fprintf(stdout, "copying %s/%s into PostgreSQL %s\n", *from, DBFile, redactDB(*db))
	start := time.Now()
	copied := hq.ExportCounts{}
	last := time.Now()
	err = src.Export(ctx, func(b hq.ExportBatch) error {
		if err := dst.Import(ctx, b); err != nil {
			return err
		}
		b.Count(copied)
		if time.Since(last) > 5*time.Second {
			fmt.Fprintf(stdout, "  … %d items so far\n", total(copied))
			last = time.Now()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate-data: %w (run it again to finish: it is safe to rerun)", err)
	}
	want, err := src.ExportCounts(ctx)
	if err != nil {
		return fmt.Errorf("migrate-data: count the source: %w", err)
	}
	got, err := dst.ExportCounts(ctx)
	if err != nil {
		return fmt.Errorf("migrate-data: count the database: %w", err)
	}
	fmt.Fprintf(stdout, "%-20s %10s %10s\n", "kind", "embedded", "database")
	var short []string
	for _, k := range hq.ExportKinds() {
		mark := ""
		switch {
		case got[k] < want[k]:
			mark = "  MISSING"
			short = append(short, k)
		case got[k] > want[k]:
			mark = "  (the database held more before)"
		}
		fmt.Fprintf(stdout, "%-20s %10d %10d%s\n", k, want[k], got[k], mark)
	}
	if len(short) > 0 {
		return fmt.Errorf("migrate-data: the database holds fewer %v than the embedded store", short)
	}
	if err := sameReports(ctx, src, dst); err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	fmt.Fprintf(stdout, "copied %d items in %v; counts verified; the completion report and the points read the same from both\n",
		total(copied), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "next: hq serve --db URL (any number of replicas); keep %s as the fallback until you are satisfied\n", *from)
	return nil
}

func total(c hq.ExportCounts) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// sameReports compares the chain-wide completion report (by store and by content
// version) and the points totals of the two stores.
func sameReports(ctx context.Context, a, b hq.Store) error {
	for _, g := range []string{hq.GroupByStore, hq.GroupByContentVersion} {
		x, err := a.Completion(ctx, hq.CompletionQuery{GroupBy: g})
		if err != nil {
			return err
		}
		y, err := b.Completion(ctx, hq.CompletionQuery{GroupBy: g})
		if err != nil {
			return err
		}
		if len(x) != len(y) {
			return fmt.Errorf("completion report by %s: %d groups in the embedded store, %d in the database", g, len(x), len(y))
		}
		for i := range x {
			if !reflect.DeepEqual(x[i].Row(), y[i].Row()) {
				return fmt.Errorf("completion report by %s differs at %s: %+v vs %+v", g, x[i].Key, x[i].Row(), y[i].Row())
			}
		}
	}
	x, err := a.Points(ctx, "", "")
	if err != nil {
		return err
	}
	y, err := b.Points(ctx, "", "")
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(x, y) {
		return errors.New("points totals differ between the embedded store and the database")
	}
	return nil
}

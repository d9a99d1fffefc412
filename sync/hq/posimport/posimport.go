// Package posimport imports POS exports (read by flows/posexport) into HQ: through the
// HTTP API of a running HQ (HTTPSink: POST /api/v1/purchases in batches, retried like the
// kiosk drainer), or straight into a stopped HQ's store (StoreSink); resumably, and file
// after file from a watched directory (Watcher). Raw ID numbers are hashed into customer
// keys here, on the importing machine: only customer keys are sent or stored.
//
// Nothing is imported twice: purchase ids are deterministic (posexport), HQ deduplicates
// on them, and a checkpoint beside the file lets a run interrupted after HQ accepted some
// batches skip those rows when it is run again.
package posimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/flows/posexport"
)

// DefaultBatchRows is how many purchases go into one POST (≈ 1.5 MB of JSON, under the
// API's 4 MiB body limit; an oversized batch is split).
const DefaultBatchRows = 5000

// ErrUnavailable wraps the failures that are not the file's fault: HQ unreachable or
// answering 5xx/408/429 after the retries, or refusing the token (401). Running the
// import again later resumes it.
const ErrUnavailable = sentinel("HQ unavailable")

// ErrRefused wraps HQ refusing a batch for its content (a 4xx other than 401, 408,
// 429): importing this file again will not help.
const ErrRefused = sentinel("HQ refused the batch")

// Sink stores batches of purchases.
type Sink interface {
	// Put stores one batch: all of it or (with an error) nothing of it.
	Put(ctx context.Context, batch []flows.Purchase) (Result, error)
}

// Result is what a sink did with one batch.
type Result struct {
	Accepted, Duplicates int
	// UnknownCodes are the batch's distinct drug codes the catalog does not know.
	UnknownCodes []string
}

// Options configure an import.
type Options struct {
	// Reader: Encoding, Columns, Sheet and Store (the store id of rows without a
	// store_id cell). StoreColumn, DrugColumns, Now and ResolveCustomer are set here.
	Reader posexport.Options
	// Secret is the chain secret: raw ID numbers are hashed with it. Nil: rows with a
	// raw ID number are rejected (rows with customer keys are imported).
	Secret []byte
	// BatchRows per Put [DefaultBatchRows].
	BatchRows int
	// InFlight is how many batches may be in the sink at once [2].
	InFlight int
	// DryRun reads and checks the whole file and stores nothing (Sink may be nil).
	DryRun bool
	// Catalog, on a dry run, counts the rows of drug codes it does not know.
	Catalog *flows.Catalog
	// NoResume turns the checkpoint off (see Import).
	NoResume bool
	// Progress shows a progress line when it is a terminal (nil: none).
	Progress io.Writer
	// Logger receives a line per file and per failure; nil: discard.
	Logger *slog.Logger
	// Now is the clock [time.Now].
	Now func() time.Time
}

// Import reads the export at path and puts its good rows into sink in batches. It
// returns the report (never nil) and the error that stopped it early, if any; rejected
// rows are in the report, not an error.
//
// Unless NoResume, a checkpoint `.NAME.import-state` beside the file records, after each
// batch HQ accepted, how many rows are done; a later Import of the same file (same size,
// modification time and first 64 KiB) reads those rows again (to number the lines of a
// sale the same) but does not send them, and counts them as Resumed. The checkpoint is
// removed when the file is done. Without a writable directory the import runs without
// one (HQ's deduplication still stores nothing twice).
func Import(ctx context.Context, path string, sink Sink, opt Options) (*posexport.Report, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.BatchRows <= 0 {
		opt.BatchRows = DefaultBatchRows
	}
	if opt.InFlight <= 0 {
		opt.InFlight = 2
	}
	rep := &posexport.Report{File: filepath.Base(path), DryRun: opt.DryRun, CodesUnchecked: opt.DryRun && opt.Catalog == nil}
	if sink == nil && !opt.DryRun {
		return rep, errors.New("posimport: no sink")
	}
	now := opt.Now()
	ro := opt.Reader
	ro.StoreColumn, ro.DrugColumns, ro.Now = true, true, now
	var lastCell string // a sale's lines follow each other: hash its customer once
	var lastKey customerkey.Key
	ro.ResolveCustomer = func(cell string) (customerkey.Key, error) {
		if cell == lastCell && lastKey != "" {
			return lastKey, nil
		}
		key, err := customerkey.FromInput(opt.Secret, cell, now.In(flows.Shanghai()))
		if err == nil {
			lastCell, lastKey = cell, key
		}
		if errors.Is(err, customerkey.ErrNeedSecret) {
			// Rejects the row only: rows with customer keys are still imported.
			return "", errors.New("a raw ID number, and no chain secret to hash it (--secret-file)")
		}
		return key, err
	}
	rd, err := posexport.Open(path, ro)
	if err != nil {
		if errors.Is(err, posexport.ErrNoStore) {
			err = fmt.Errorf("%w (or give --store ID)", err)
		}
		rep.Stopped = err.Error()
		return rep, err
	}
	defer rd.Close()

	var cp *checkpoint
	skip := 0
	if !opt.DryRun && !opt.NoResume {
		cp, err = openCheckpoint(path)
		if err != nil {
			opt.Logger.Warn("posimport: no checkpoint, a rerun starts over (HQ still skips duplicates)", "file", rep.File, "err", err)
			cp = nil
		} else {
			skip = cp.st.Rows
		}
	}

	type batch struct {
		ps  []flows.Purchase
		cut int // rows read when the batch was cut
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 1)
	var readErr error
	var wg sync.WaitGroup
	progress := posexport.NewProgress(opt.Progress, rep.File, rd)
	// The reader and the sink run side by side: the next batch is read, hashed and built
	// while the last one is being stored. The producer touches only the report's row and
	// rejection counts, the consumer only its stored counts and unknown codes.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		cur := make([]flows.Purchase, 0, opt.BatchRows)
		readErr = rd.Each(ctx, func(p flows.Purchase) error {
			progress.Update()
			rep.Valid++
			if rd.Rows() <= skip {
				rep.Resumed++
				return nil
			}
			if opt.DryRun {
				if opt.Catalog != nil {
					if _, ok := opt.Catalog.Lookup(p.DrugCode); !ok {
						rep.Unknown(p.DrugCode)
					}
				}
				return nil
			}
			if cur = append(cur, p); len(cur) >= opt.BatchRows {
				select {
				case batches <- batch{cur, rd.Rows()}:
				case <-ctx.Done():
					return ctx.Err()
				}
				cur = make([]flows.Purchase, 0, opt.BatchRows)
			}
			return nil
		}, func(bad *posexport.RowError) {
			progress.Update()
			rep.Reject(bad)
		})
		if readErr == nil && len(cur) > 0 {
			select {
			case batches <- batch{cur, rd.Rows()}:
			case <-ctx.Done():
				readErr = ctx.Err()
			}
		}
	}()
	// Up to InFlight batches are posted at once (HQ decodes one while it commits the
	// other); their results are taken in order, so the checkpoint only ever moves past
	// batches that all succeeded.
	type post struct {
		b    batch
		done chan struct{}
		res  Result
		err  error
	}
	var putErr error
	var queue []*post
	finish := func(f *post) {
		<-f.done
		if f.err != nil {
			if putErr == nil {
				putErr = f.err
				cancel()
			}
			return
		}
		rep.Imported += f.res.Accepted
		rep.Duplicates += f.res.Duplicates
		if len(f.res.UnknownCodes) > 0 {
			unknown := make(map[string]bool, len(f.res.UnknownCodes))
			for _, c := range f.res.UnknownCodes {
				unknown[c] = true
			}
			for _, p := range f.b.ps {
				if unknown[p.DrugCode] {
					rep.Unknown(p.DrugCode)
				}
			}
		}
		if cp != nil && putErr == nil {
			if err := cp.save(f.b.cut); err != nil {
				opt.Logger.Warn("posimport: checkpoint not saved", "file", rep.File, "err", err)
			}
		}
	}
	for b := range batches {
		if putErr != nil {
			continue // drain: the producer stops at ctx
		}
		f := &post{b: b, done: make(chan struct{})}
		go func() {
			defer close(f.done)
			f.res, f.err = putSplit(ctx, sink, f.b.ps)
		}()
		queue = append(queue, f)
		if len(queue) >= opt.InFlight {
			finish(queue[0])
			queue = queue[1:]
		}
	}
	for _, f := range queue {
		finish(f)
	}
	wg.Wait()
	progress.Done()
	rep.FromReader(rd)
	err = putErr
	if err == nil {
		err = readErr
	}
	if err != nil {
		rep.Stopped = err.Error()
		opt.Logger.Warn("posimport: stopped", "file", rep.File, "rows", rep.Rows, "added", rep.Imported, "err", err)
		return rep, err
	}
	if cp != nil {
		cp.remove()
	}
	opt.Logger.Info("posimport: file imported", "file", rep.File, "rows", rep.Rows, "added", rep.Imported,
		"duplicates", rep.Duplicates, "resumed", rep.Resumed, "rejected", rep.Rejected, "unknown_codes", rep.UnknownCodes)
	return rep, nil
}

// putSplit puts a batch, halving it while the sink says it is too large.
func putSplit(ctx context.Context, sink Sink, ps []flows.Purchase) (Result, error) {
	res, err := sink.Put(ctx, ps)
	if !errors.Is(err, errTooLarge) || len(ps) < 2 {
		return res, err
	}
	a, err := putSplit(ctx, sink, ps[:len(ps)/2])
	if err != nil {
		return a, err
	}
	b, err := putSplit(ctx, sink, ps[len(ps)/2:])
	a.Accepted += b.Accepted
	a.Duplicates += b.Duplicates
	a.UnknownCodes = append(a.UnknownCodes, b.UnknownCodes...)
	return a, err
}

// errTooLarge is a sink's answer to a batch over its size limit (split and retried).
var errTooLarge = errors.New("batch too large")

// sentinel is an error that is a constant, so the package's errors cannot be replaced
// at run time; errors.Is compares them by value.
type sentinel string

func (e sentinel) Error() string { return string(e) }

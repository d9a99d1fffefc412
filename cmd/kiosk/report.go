package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/pharmachain/counter/assets/i18n"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/kiosk/store"
)

// reportDefaultDays is the default report window ending today.
const reportDefaultDays = 30

// completionReport is the JSON shape of kiosk report --format json.
type completionReport struct {
	From flows.Day             `json:"from"`
	To   flows.Day             `json:"to"`
	By   string                `json:"by"`
	Rows []flows.CompletionRow `json:"rows"`
	// Total is the all-visits row (absent for --by step, whose rows are totals).
	Total *flows.CompletionRow `json:"total,omitempty"`
	// stepName names a step (the counter's Chinese translations) in the table and CSV.
	stepName func(step int) string
}

// runReport prints the service-completion numbers from the local store:
// kiosk report --data DIR [--from D] [--to D] [--by pharmacist|day|step] [--format table|csv|json].
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return report(ctx, args, stdout, stderr, time.Now)
}

func report(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "kiosk data directory (holds kiosk.db)")
	fromS := fs.String("from", "", "first day YYYY-MM-DD (default: 29 days before --to)")
	toS := fs.String("to", "", "last day YYYY-MM-DD (default: today, Asia/Shanghai)")
	by := fs.String("by", flows.ByPharmacist, "grouping: pharmacist, day or step (also: store, all)")
	format := fs.String("format", "table", "output: table, csv or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk report --data DIR [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by pharmacist|day|step] [--format table|csv|json]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: report: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *dir == "" {
		return fmt.Errorf("%w: report: --data DIR is required", errUsage)
	}
	if !flows.ValidGrouping(*by) {
		return fmt.Errorf("%w: report: --by %q: want pharmacist, day or step", errUsage, *by)
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return fmt.Errorf("%w: report: --format %q: want table, csv or json", errUsage, *format)
	}
	to := flows.DayOf(now())
	if *toS != "" {
		d, err := flows.ParseDay(*toS)
		if err != nil {
			return fmt.Errorf("%w: report: --to: %w", errUsage, err)
		}
		to = d
	}
	from := to - reportDefaultDays + 1
	if *fromS != "" {
		d, err := flows.ParseDay(*fromS)
		if err != nil {
			return fmt.Errorf("%w: report: --from: %w", errUsage, err)
		}
		from = d
	}
	if from > to {
		return fmt.Errorf("%w: report: --from %s is after --to %s", errUsage, from, to)
	}

	path := store.DefaultPath(*dir)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("report: no store at %s: %w", path, err)
	}
	s, err := store.Open(path, store.Options{})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer s.Close()
	visits, err := s.Visits(ctx, from, to)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	zh, err := i18n.Load(i18n.ZhHans)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	rep := completionReport{From: from, To: to, By: *by, Rows: flows.Completion(visits, *by),
		stepName: func(step int) string { return i18n.StepName(zh.L, step) }}
	if *by != flows.ByStep && *by != flows.ByAll {
		tot := flows.Completion(visits, flows.ByAll)
		if len(tot) == 1 {
			rep.Total = &tot[0]
		} else {
			empty := flows.RowOf(flows.ByAll, flows.ByAll, flows.Rollup{})
			rep.Total = &empty
		}
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	case "csv":
		err = reportCSV(stdout, rep)
	default:
		err = reportTable(stdout, rep)
	}
	if err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	return nil
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func reportCSV(w io.Writer, rep completionReport) error {
	cw := csv.NewWriter(w)
	if rep.By == flows.ByStep {
		_ = cw.Write([]string{"step", "name", "visits", "reached", "reached_per_100", "stalled_here", "avg_seconds"})
		for i, r := range rep.Rows {
			_ = cw.Write([]string{r.Key, rep.stepName(i + 1), strconv.Itoa(r.Visits), strconv.Itoa(r.Completed),
				f1(r.Rate), strconv.Itoa(r.Stalled[i]), f1(r.AvgStepSeconds[i])})
		}
	} else {
		_ = cw.Write([]string{"by", "key", "visits", "completed", "abandoned", "in_progress", "rate_per_100",
			"funnel_identified", "funnel_questionnaire", "funnel_recommended", "funnel_followup",
			"stalled_1", "stalled_2", "stalled_3", "stalled_4",
			"avg_seconds_1", "avg_seconds_2", "avg_seconds_3", "avg_seconds_4"})
		rows := rep.Rows
		if rep.Total != nil {
			rows = append(rows[:len(rows):len(rows)], *rep.Total)
		}
		for _, r := range rows {
			rec := []string{r.By, r.Key, strconv.Itoa(r.Visits), strconv.Itoa(r.Completed), strconv.Itoa(r.Abandoned),
				strconv.Itoa(r.InProgress), f1(r.Rate)}
			for _, n := range r.Funnel {
				rec = append(rec, strconv.Itoa(n))
			}
			for _, n := range r.Stalled {
				rec = append(rec, strconv.Itoa(n))
			}
			for _, s := range r.AvgStepSeconds {
				rec = append(rec, f1(s))
			}
			_ = cw.Write(rec)
		}
	}
	cw.Flush()
	return cw.Error()
}

func reportTable(w io.Writer, rep completionReport) error {
	fmt.Fprintf(w, "Service completion %s .. %s, by %s\n\n", rep.From, rep.To, rep.By)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if rep.By == flows.ByStep {
		// The (CJK) step name goes last: tabwriter cannot align double-width characters.
		fmt.Fprintln(tw, "STEP\tREACHED\tPER 100\tSTALLED HERE\tAVG SECONDS\t  NAME")
		for i, r := range rep.Rows {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t  %s\n", r.Key, r.Completed, f1(r.Rate), r.Stalled[i], f1(r.AvgStepSeconds[i]), rep.stepName(i+1))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(rep.Rows) > 0 {
			fmt.Fprintf(w, "\n%d visits\n", rep.Rows[0].Visits)
		}
		return nil
	}
	fmt.Fprintln(tw, "KEY\tVISITS\tCOMPLETE\tPER 100\tFUNNEL 1/2/3/4\tSTALLED 1/2/3/4\tABANDONED\tOPEN\t")
	row := func(r flows.CompletionRow) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d/%d/%d/%d\t%d/%d/%d/%d\t%d\t%d\t\n", r.Key, r.Visits, r.Completed, f1(r.Rate),
			r.Funnel[0], r.Funnel[1], r.Funnel[2], r.Funnel[3], r.Stalled[0], r.Stalled[1], r.Stalled[2], r.Stalled[3],
			r.Abandoned, r.InProgress)
	}
	for _, r := range rep.Rows {
		row(r)
	}
	if rep.Total != nil {
		t := *rep.Total
		t.Key = "TOTAL"
		row(t)
	}
	return tw.Flush()
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// runContentList: `hq content list [--json] (--hq URL --token ADMIN | --data DIR)`: every
// version newest first with its time, author, note, the stores assigned it and the
// stores whose kiosks run it, then any pack a kiosk refuses.
func runContentList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("content list", stderr)
	target := addAdminTarget(fs)
	asJSON := fs.Bool("json", false, "print the list as JSON (wire.ContentListResponse)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := target.check(); err != nil {
		return err
	}
	ops, done, err := openContent(ctx, target, "")
	if err != nil {
		return err
	}
	defer done()
	l, err := ops.List(ctx)
	if err != nil {
		return fmt.Errorf("content list: %w", err)
	}
	if *asJSON {
		b, err := json.MarshalIndent(l, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tPUBLISHED\tAUTHOR\tASSIGNED\tRUNNING\tHASH\tNOTE")
	for _, v := range l.Versions {
		at := "(embedded)"
		if v.Number > 0 {
			at = v.At.Local().Format("2006-01-02 15:04")
		}
		var assigned []string
		if v.Default {
			assigned = append(assigned, "all other stores")
		}
		if len(v.Assigned) > 0 {
			assigned = append(assigned, strings.Join(v.Assigned, ","))
		}
		hash := strings.TrimPrefix(v.Hash, "sha256:")
		if len(hash) > 12 {
			hash = hash[:12]
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Number, at, dash(v.Author), dash(strings.Join(assigned, " + ")),
			dash(strings.Join(v.Running, ",")), dash(hash), dash(v.Note))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range l.Statuses {
		if s.Refused != nil {
			fmt.Fprintf(stdout, "%s refuses version %d (runs %d): %s\n", s.StoreID, s.Refused.Version, s.Version, s.Refused.Reason)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

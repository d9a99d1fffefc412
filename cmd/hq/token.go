package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// runToken: `hq token create|list|revoke …` — the token life cycle, each verb against a
// running HQ (--hq URL --token ADMIN, through its admin routes) or a stopped HQ's data
// (--data DIR) or HQ's database (--db URL). One file per verb.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	subs := []verb{
		{"create", "create (--store ID | --admin) [--label L] [--expires 90d]: print a new bearer token (shown once)", runTokenCreate},
		{"list", "list: one token a line — id, store=ID|admin, label, created, last used (never the token)", runTokenList},
		{"revoke", "revoke ID: the token answers 401 from the next request on; dashboard sessions opened with it end", runTokenRevoke},
	}
	if len(args) > 0 {
		for _, v := range subs {
			if v.name == args[0] {
				return v.run(ctx, args[1:], stdout, stderr)
			}
		}
	}
	fmt.Fprintln(stderr, "usage: hq token VERB (--hq URL --token ADMIN | --data DIR | --db URL) …")
	for _, v := range subs {
		fmt.Fprintf(stderr, "  %-7s %s\n", v.name, v.usage)
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: hq token needs a verb", errUsage)
	}
	return fmt.Errorf("%w: unknown token verb %q", errUsage, args[0])
}

// parseLifetime reads --expires: whole days ("90d") or a Go duration ("36h").
func parseLifetime(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3650 {
			return 0, fmt.Errorf("%w: --expires %q: want whole days 1–3650 (90d) or a duration (36h)", errUsage, s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: --expires %q: want whole days (90d) or a duration (36h)", errUsage, s)
	}
	return d, nil
}

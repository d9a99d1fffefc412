package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// runContentDiff: `hq content diff A B (--hq URL --token ADMIN | --data DIR)`: what
// changed from version A to version B (0: the embedded default), per file and per
// question, recommendation, drug, points rule or message.
func runContentDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("content diff", stderr)
	target := addAdminTarget(fs)
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: hq content diff A B (two version numbers)", errUsage)
	}
	var n [2]int
	for i := range n {
		v, err := strconv.Atoi(pos[i])
		if err != nil || v < 0 {
			return fmt.Errorf("%w: %q is not a version number", errUsage, pos[i])
		}
		n[i] = v
	}
	if err := target.check(); err != nil {
		return err
	}
	ops, done, err := openContent(ctx, target, "")
	if err != nil {
		return err
	}
	defer done()
	d, err := ops.Diff(ctx, n[0], n[1])
	if err != nil {
		return fmt.Errorf("content diff: %w", err)
	}
	fmt.Fprint(stdout, d.String())
	return nil
}

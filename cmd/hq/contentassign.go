package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pharmachain/counter/sync/wire"
)

// runContentAssign: `hq content assign N (--stores S001,S002 | --all) (--hq URL --token
// ADMIN | --data DIR)`: the named stores (pilots), or every store, run version N from
// their next sync. Rollback is assigning an older version; 0 is the embedded default.
func runContentAssign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("content assign", stderr)
	target := addAdminTarget(fs)
	where := storesFlag(fs, false)
	author := actorFlag(fs)
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: hq content assign N (--stores S001,S002 | --all)", errUsage)
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil || n < 0 {
		return fmt.Errorf("%w: %q is not a version number", errUsage, pos[0])
	}
	if err := target.check(); err != nil {
		return err
	}
	stores, all, err := where()
	if err != nil {
		return err
	}
	ops, done, err := openContent(ctx, target, actorName(*author))
	if err != nil {
		return err
	}
	defer done()
	if err := ops.Assign(ctx, wire.ContentAssignRequest{Version: n, Stores: stores, All: all}); err != nil {
		return fmt.Errorf("content assign: %w", err)
	}
	if all {
		fmt.Fprintf(stdout, "version %d assigned to every store\n", n)
	} else {
		fmt.Fprintf(stdout, "version %d assigned to %s\n", n, strings.Join(stores, ", "))
	}
	return nil
}

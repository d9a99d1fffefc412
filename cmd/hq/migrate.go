package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/server"
)

// runMigrate: `hq migrate --db URL` applies this HQ's embedded schema migrations to the
// PostgreSQL database (under an advisory lock: safe while replicas start) and says
// which steps it applied. hq serve --db migrates at start too; this verb lets an
// operator upgrade the schema before rolling out new replicas.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
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
	if *db == "" {
		return fmt.Errorf("%w: --db URL is required (hq migrate acts on a PostgreSQL database)", errUsage)
	}
	if !pgstore.IsURL(*db) {
		return fmt.Errorf("%w: --db: want a postgres://… or postgresql://… URL", errUsage)
	}
	res, err := pgstore.Migrate(ctx, *db)
	if err != nil {
		return err
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(stdout, "schema at version %d: up to date\n", res.To)
		return nil
	}
	for _, step := range res.Applied {
		fmt.Fprintf(stdout, "applied %s\n", step)
	}
	fmt.Fprintf(stdout, "schema at version %d (was %d)\n", res.To, res.From)
	return nil
}

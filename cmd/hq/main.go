// Command hq is the chain's HQ service: `hq serve` runs the HTTP API the kiosks sync
// to; the other verbs administer its data directory. Each verb lives in its own file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/server"
)

// verb is one sub-command: it parses its own flags from args.
type verb struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func verbs() []verb {
	return []verb{
		{"serve", "run the HQ HTTP API ((--data DIR | --db URL) --addr HOST:PORT [--catalog FILE] [--demo])", runServe},
		{"token", "token create|list|revoke (--hq URL --token ADMIN | --data DIR | --db URL): the bearer tokens' life cycle (hq token for details)", runToken},
		{"import-purchases", "import POS exports (CSV in UTF-8/GBK/UTF-16, .xlsx) into a running HQ (--hq) or a stopped one (--data) or its database (--db); --watch DIR", runImportPurchases},
		{"migrate", "migrate --db URL: bring a PostgreSQL database to this HQ's schema (hq serve --db does it at start too)", runMigrate},
		{"migrate-data", "migrate-data --from DIR --db URL: copy a stopped embedded HQ into PostgreSQL (safe to rerun; counts verified)", runMigrateData},
		{"backup", "backup --to FILE (--data DIR | --hq URL --token ADMIN): consistent copy of hq.db (--db: how to back up PostgreSQL)", runBackup},
		{"purge", "purge (--hq URL --token ADMIN | --data DIR | --db URL) [--retention 26280h]: apply the retention period", runPurge},
		{"forget", "forget (--customer-key K | --id-number-file F|- --secret-file F) (--hq URL --token ADMIN | --data DIR | --db URL): PIPL deletion", runForget},
		{"content", "content publish|list|diff|assign (--hq URL --token ADMIN | --data DIR): content packs kiosks run (hq content for details)", runContent},
		{"pharmacist", "pharmacist add (--data DIR | --db URL) --store ID --id P01 --name NAME [--pin-file F|- | --pin-prompt] [--manager] [--badge B]", runPharmacist},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(withStdin(ctx, os.Stdin), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a verb and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, v := range verbs() {
		if v.name == args[0] {
			return exitCode(v.run(ctx, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "hq: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return 2
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "hq:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "hq:", err)
		return 1
	}
}

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hq COMMAND [flags]")
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-17s %s\n", v.name, v.usage)
	}
}

// newFlags makes a verb's flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hq "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// DBFile is the HQ database's name inside --data DIR.
const DBFile = server.DBFile

// storeFlags is where a verb finds HQ's data: the embedded store of --data DIR, or the
// PostgreSQL database of --db URL (default $HQ_DB when neither flag is given).
type storeFlags struct {
	dir, db *string
}

func addStoreFlags(fs *flag.FlagSet, dirUsage string) storeFlags {
	return storeFlags{
		dir: fs.String("data", "", dirUsage),
		db:  fs.String("db", "", "PostgreSQL database URL postgres://… (default $"+server.EnvDB+"); shared by every HQ replica"),
	}
}

// resolve applies $HQ_DB when no storage flag was given (other says another target,
// e.g. --hq, was given instead) and checks that at most one storage is named.
func (s storeFlags) resolve(other bool) error {
	if *s.dir == "" && *s.db == "" && !other {
		*s.db = os.Getenv(server.EnvDB)
	}
	if *s.dir != "" && *s.db != "" {
		return fmt.Errorf("%w: give --data DIR or --db URL, not both", errUsage)
	}
	if *s.db != "" && !pgstore.IsURL(*s.db) {
		return fmt.Errorf("%w: --db: want a postgres://… or postgresql://… URL", errUsage)
	}
	return nil
}

func (s storeFlags) given() bool { return *s.dir != "" || *s.db != "" }

// open opens the store (creating DIR and hq.db if needed unless mustExist; a database's
// schema is migrated).
func (s storeFlags) open(ctx context.Context, mustExist bool) (hq.Store, error) {
	if err := s.resolve(false); err != nil {
		return nil, err
	}
	if !s.given() {
		return nil, fmt.Errorf("%w: --data DIR or --db URL is required", errUsage)
	}
	return server.OpenStore(ctx, server.StoreConfig{Dir: *s.dir, DB: *s.db, MustExist: mustExist})
}

type stdinKey struct{}

// withStdin gives the verbs their standard input (secrets read from it: --pin-file -,
// prompts).
func withStdin(ctx context.Context, r io.Reader) context.Context {
	return context.WithValue(ctx, stdinKey{}, r)
}

// stdinOf is the verb's standard input (none: empty).
func stdinOf(ctx context.Context) io.Reader {
	if r, ok := ctx.Value(stdinKey{}).(io.Reader); ok {
		return r
	}
	return strings.NewReader("")
}

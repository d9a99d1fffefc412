// Command kiosk is the counter app of the chronic-disease service (the Fyne window) plus
// the installer's and manager's command-line verbs. Each verb lives in its own file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// verb is one sub-command: it parses its own flags from args.
type verb struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func verbs() []verb {
	return []verb{
		{"scan-test", "read a serial scanner and print classified frames as JSON lines", runScanTest},
		{"decode-image", "print the codes found in image files as JSON lines", runDecodeImage},
		{"report", "completion rate by pharmacist, day or step", runReport},
		{"import-purchases", "import a POS export CSV into the local store", runImportPurchases},
		{"backup", "checked copy of the local store (app closed; the running app backs up daily itself)", runBackup},
		{"purge", "delete records older than the retention period (default 3 years)", runPurge},
		{"forget", "delete one customer's data at this kiosk (PIPL request)", runForget},
		{"sync", "drain the outbox to HQ now (--once) or show its status (status)", runSync},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(withStdin(ctx, os.Stdin), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a verb, or starts the counter app when the first argument is a flag
// or absent. It returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		printUsage(stdout)
		printAppUsage(stdout)
		return 0
	}
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		for _, v := range verbs() {
			if v.name == args[0] {
				return exitCode(v.run(ctx, args[1:], stdout, stderr), stderr)
			}
		}
		fmt.Fprintf(stderr, "kiosk: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}
	return exitCode(runApp(ctx, args, stdout, stderr), stderr)
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "kiosk:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "kiosk:", err)
		return 1
	}
}

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

// parseFlags parses a verb's flags: -h/--help passes flag.ErrHelp through (exit 0),
// any other mistake is a usage error naming the verb (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: kiosk [flags]            start the counter app (kiosk --help for flags)")
	fmt.Fprintln(w, "       kiosk COMMAND [flags]    run an installer/manager command:")
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-17s %s\n", v.name, v.usage)
	}
}

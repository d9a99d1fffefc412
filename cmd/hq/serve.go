package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

// serveConfig is what `hq serve` runs with.
type serveConfig struct {
	dir, addr, catalogFile, pointsFile, secretFile string
	demo                                           bool
	grace                                          time.Duration
	// ready, if set, receives the listening address (tests).
	ready func(addr string)
}

// runServe: `hq serve --data DIR --addr HOST:PORT [--catalog FILE] [--points FILE]
// [--demo [--secret-file F]]`. SIGTERM/SIGINT shut it down gracefully: the listener
// closes, in-flight requests finish (up to --grace), then the database is closed.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var c serveConfig
	fs.StringVar(&c.dir, "data", "", "HQ data directory (holds hq.db)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT")
	fs.StringVar(&c.catalogFile, "catalog", "", "drug catalog JSON (default: the embedded catalog)")
	fs.StringVar(&c.pointsFile, "points", "", "points rules JSON (default: the embedded rules)")
	fs.BoolVar(&c.demo, "demo", false, "seed demo store S001 (tokens, roster, customers) and mount /demo/insurance")
	fs.StringVar(&c.secretFile, "secret-file", "", "chain secret (with --demo; default DIR/chain.secret, created if absent)")
	fs.DurationVar(&c.grace, "grace", 20*time.Second, "how long in-flight requests may take to finish at shutdown")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return serve(ctx, c, stdout, stderr)
}

func serve(ctx context.Context, c serveConfig, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cat, err := loadCatalog(c.catalogFile)
	if err != nil {
		return err
	}
	rules, err := loadPointsRules(c.pointsFile)
	if err != nil {
		return err
	}
	st, err := openStore(c.dir, boltstore.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	var mount func(mux *http.ServeMux, s *hq.Server)
	if c.demo {
		secretFile := c.secretFile
		if secretFile == "" {
			secretFile = filepath.Join(c.dir, "chain.secret")
		}
		secret, err := demoSecret(secretFile)
		if err != nil {
			return err
		}
		if err := seedDemo(ctx, st, secret, time.Now(), stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo chain secret: %s (give it to the kiosk with --secret-file)\n", secretFile)
		ids, names := devices.DemoInsuranceData()
		gw := devices.DemoGatewayHandler(ids, names)
		mount = func(mux *http.ServeMux, s *hq.Server) {
			mux.Handle("/demo/insurance", gw)
			mux.Handle("/demo/insurance/", gw)
		}
	}
	srv := hq.New(st, hq.Options{Logger: log, Catalog: cat, PointsRules: rules, Mount: mount})
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	fmt.Fprintf(stdout, "HQ listening on http://%s (data %s)\n", ln.Addr(), c.dir)
	if c.ready != nil {
		c.ready(ln.Addr().String())
	}
	err = hq.Serve(ctx, hq.HTTPServer(c.addr, srv, log), ln, c.grace)
	if cerr := st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "HQ stopped cleanly")
	return nil
}

func loadCatalog(file string) (*flows.Catalog, error) {
	var b []byte
	var err error
	if file != "" {
		b, err = os.ReadFile(file)
	} else {
		b, err = assets.Read("catalog/drugs.json")
	}
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	cat, err := flows.LoadCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", orEmbedded(file), err)
	}
	return cat, nil
}

func loadPointsRules(file string) (flows.PointsRules, error) {
	var b []byte
	var err error
	if file != "" {
		b, err = os.ReadFile(file)
	} else {
		b, err = assets.Read("rules/points.json")
	}
	if err != nil {
		return nil, fmt.Errorf("read points rules: %w", err)
	}
	r, err := flows.LoadPointsRules(b)
	if err != nil {
		return nil, fmt.Errorf("points rules %s: %w", orEmbedded(file), err)
	}
	return r, nil
}

func orEmbedded(file string) string {
	if file == "" {
		return "(embedded)"
	}
	return file
}

// demoSecret loads the demo chain secret, creating a random one if the file is absent.
func demoSecret(path string) ([]byte, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("demo secret: %w", err)
		}
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(b[:])+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("demo secret: %w", err)
		}
	}
	return devices.LoadSecret(path)
}

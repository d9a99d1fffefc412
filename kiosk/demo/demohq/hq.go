// Package demohq is the demo's HQ: the real HQ (sync/hq/server, as `hq serve` builds
// it) in-process on a bbolt file and 127.0.0.1, seeded with the demo store. Only the demo
// command, tests and tools link it: the production kiosk does not link HQ.
package demohq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/devices/demogateway"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/kiosk/demo"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/server"
)

// InsurancePath is where the demo HQ serves the stand-in insurance gateway.
const InsurancePath = "/demo/insurance/resolve"

// HQ is an in-process HQ for the demo: the real HQ (sync/hq/server, as `hq serve` builds
// it) on a bbolt file, listening on 127.0.0.1 (real HTTP), seeded with the demo store's
// token, roster and the chain-wide purchases of the demo customers (including the
// sister store's).
type HQ struct {
	URL     string // http://127.0.0.1:PORT
	srv     *http.Server
	st      hq.Store
	hq      *server.HQ
	done    chan error
	stopped bool
}

// StartHQ starts the demo HQ with its data in dir/hq.db. Follow-ups go through the
// log-only channel: each one's tracked link is printed to links (nil: discarded) as soon
// as its visit reaches HQ, so a newcomer can open it, book a revisit and watch the
// pharmacist's points change.
func StartHQ(ctx context.Context, dir string, cat *flows.Catalog, now time.Time, log *slog.Logger, links io.Writer) (*HQ, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if links == nil {
		links = io.Discard
	}
	st, err := server.OpenStore(ctx, server.StoreConfig{Dir: dir, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo HQ: %w", err)
	}
	if err := seedHQ(ctx, st, cat, now); err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("demo HQ: listen: %w", err)
	}
	def, err := content.FromFS(assets.FS())
	if err != nil {
		ln.Close()
		st.Close()
		return nil, fmt.Errorf("demo HQ: built-in content: %w", err)
	}
	d := &HQ{URL: "http://" + ln.Addr().String(), st: st, done: make(chan error, 1)}
	gw := demogateway.Handler(demogateway.Data())
	// The built-in content is version 0, as at a real HQ: `hq content publish --hq URL
	// --token ADMIN` works against the demo, and the demo kiosk follows what it assigns.
	d.hq, err = server.New(ctx, st, server.Config{PublicURL: d.URL, Out: links, DemoChannel: true, Logger: log, Catalog: cat, DefaultContent: def,
		Interval: time.Second, SendEarly: 24 * time.Hour, MaxLate: time.Hour, // only today's visits print a link
		Mount: func(mux *http.ServeMux, _ *api.Server) { mux.Handle("POST "+InsurancePath, gw) }})
	if err != nil {
		ln.Close()
		st.Close()
		return nil, fmt.Errorf("demo HQ: %w", err)
	}
	d.srv = api.HTTPServer(ln.Addr().String(), d.hq.Handler(), log)
	d.hq.Start(context.WithoutCancel(ctx))
	go func() { d.done <- d.srv.Serve(ln) }()
	return d, nil
}

func seedHQ(ctx context.Context, st hq.Store, cat *flows.Catalog, now time.Time) error {
	if err := st.PutToken(ctx, hq.HashToken(demo.StoreToken), hq.Principal{StoreID: demo.StoreID, Label: "demo", CreatedAt: now}); err != nil {
		return fmt.Errorf("demo HQ seed: %w", err)
	}
	if err := st.PutToken(ctx, hq.HashToken(demo.AdminToken), hq.Principal{Admin: true, Label: "demo", CreatedAt: now}); err != nil {
		return fmt.Errorf("demo HQ seed: %w", err)
	}
	roster, err := demo.Roster()
	if err != nil {
		return err
	}
	for _, p := range roster {
		if err := st.PutPharmacist(ctx, p); err != nil {
			return fmt.Errorf("demo HQ seed: %w", err)
		}
	}
	ps, err := demo.Purchases([]byte(demo.Secret), cat, now)
	if err != nil {
		return err
	}
	if _, err := st.IngestPurchases(ctx, ps); err != nil {
		return fmt.Errorf("demo HQ seed: %w", err)
	}
	return nil
}

// Stop shuts the server down (in-flight requests finish) and closes its store.
func (d *HQ) Stop() error {
	if d.stopped {
		return nil
	}
	d.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := d.srv.Shutdown(ctx)
	if serr := <-d.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	d.hq.Stop() // before the store closes: the dispatcher writes to it
	if cerr := d.st.Close(); err == nil {
		err = cerr
	}
	return err
}

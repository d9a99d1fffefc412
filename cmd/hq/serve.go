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
	"strings"
	"time"

	"github.com/pharmachain/counter/devices/demogateway"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/clientip"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/server"
	"github.com/pharmachain/counter/sync/hq/wecom"
)

// serveConfig is what `hq serve` runs with.
type serveConfig struct {
	dir, db                                   string
	dbWait                                    time.Duration
	addr, catalogFile, pointsFile, secretFile string
	demo                                      bool
	grace                                     time.Duration
	// Follow-ups: tracked links, WeCom, dispatcher.
	publicURL, linkSecretFile      string
	wecomBaseURL, wecomCorpID      string
	wecomSecretFile, robotKeysFile string
	// WeCom callback URL (/wecom/callback): contact bindings from add-contact events.
	wecomCallbackToken, wecomCallbackAESKeyFile string
	dispatchInterval                            time.Duration
	trustForwardedFor                           bool // refused: see --trust-proxy
	// Behind a reverse proxy: the proxies whose X-Forwarded-For HQ believes, and Secure
	// cookies (also on whenever the public URL is https).
	trustProxy   string
	secureCookie bool
	// /metrics: the token Prometheus may read it with on the main address, and the
	// private address that serves it without a token.
	metricsTokenFile, metricsAddr string
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
	fs.StringVar(&c.db, "db", "", "PostgreSQL database URL postgres://… instead of --data (default $"+server.EnvDB+"): several hq serve processes may share it")
	fs.DurationVar(&c.dbWait, "db-wait", 30*time.Second, "with --db: keep trying this long when the database cannot be reached at start")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT")
	fs.StringVar(&c.catalogFile, "catalog", "", "drug catalog JSON (default: the embedded catalog)")
	fs.StringVar(&c.pointsFile, "points", "", "points rules JSON (default: the embedded rules)")
	fs.BoolVar(&c.demo, "demo", false, "seed demo store S001 (tokens, roster, customers) and mount /demo/insurance")
	fs.StringVar(&c.secretFile, "secret-file", "", "chain secret (with --demo; default DIR/chain.secret, created if absent; with --db the secret is kept in the database and written to this file for the kiosk)")
	fs.DurationVar(&c.grace, "grace", 20*time.Second, "how long in-flight requests may take to finish at shutdown")
	fs.StringVar(&c.publicURL, "public-url", "", "HQ's address as customers' phones reach it, for follow-up links (default http://ADDR)")
	fs.StringVar(&c.linkSecretFile, "link-secret-file", "", "secret signing follow-up links (default: one kept in the HQ store, created on first start)")
	fs.StringVar(&c.wecomCorpID, "wecom-corp-id", "", "WeCom corp id; with --wecom-secret-file, follow-ups go out through WeCom customer contact (else none is sent: only --demo prints links)")
	fs.StringVar(&c.wecomSecretFile, "wecom-secret-file", "", "file holding the WeCom customer-contact app secret")
	fs.StringVar(&c.wecomBaseURL, "wecom-base-url", "", "WeCom API base URL (default the official one; tests point it at a local server)")
	fs.StringVar(&c.wecomCallbackToken, "wecom-callback-token", "", "Token of WeCom's callback URL (with --wecom-callback-aes-key-file and --wecom-corp-id): serves /wecom/callback, which binds customers to WeCom contacts")
	fs.StringVar(&c.wecomCallbackAESKeyFile, "wecom-callback-aes-key-file", "", "file holding the callback URL's EncodingAESKey (43 characters)")
	fs.StringVar(&c.robotKeysFile, "robot-keys", "", "file of STORE_ID=WEBHOOK_KEY lines: each store's WeCom group robot (escalations, daily summary)")
	fs.StringVar(&c.trustProxy, "trust-proxy", "", "CIDR[,…] of the reverse proxies (nginx) whose X-Forwarded-For names the client, e.g. 127.0.0.1 or 10.0.0.0/8; other peers' X-Forwarded-For is ignored")
	fs.StringVar(&c.metricsTokenFile, "metrics-token-file", "", "file holding a token that may read /metrics (Prometheus authorization credentials), besides admin tokens")
	fs.StringVar(&c.metricsAddr, "metrics-addr", defaultMetricsAddr, "serve /metrics without a token on this private address only (empty: none); /metrics on --addr needs a token")
	fs.BoolVar(&c.secureCookie, "secure-cookie", false, "mark the dashboard's cookies Secure (automatic when --public-url is https)")
	fs.BoolVar(&c.trustForwardedFor, "trust-forwarded-for", false, "removed: it believed any client's X-Forwarded-For; use --trust-proxy CIDR naming your proxies")
	fs.DurationVar(&c.dispatchInterval, "dispatch-interval", 5*time.Second, "how often the follow-up dispatcher looks for due follow-ups")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := (storeFlags{dir: &c.dir, db: &c.db}).resolve(false); err != nil {
		return err
	}
	if c.dir == "" && c.db == "" {
		return fmt.Errorf("%w: --data DIR or --db URL is required", errUsage)
	}
	return serve(ctx, c, stdout, stderr)
}

func serve(ctx context.Context, c serveConfig, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	data, err := domainData(c.catalogFile, c.pointsFile)
	if err != nil {
		return err
	}
	def, err := embeddedContent()
	if err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, server.StoreConfig{Dir: c.dir, DB: c.db, WaitForDB: c.dbWait, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	// Listen before assembling HQ so that links carry the real address (port 0 in demos).
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	defer ln.Close()
	cfg, err := hqConfig(c, ln.Addr().String(), data, log, stdout)
	if err != nil {
		return err
	}
	cfg.DefaultContent = def
	if c.demo {
		secret, where, err := demoChainSecret(ctx, st, c)
		if err != nil {
			return err
		}
		if err := seedDemo(ctx, st, secret, time.Now(), stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo chain secret: %s\n", where)
		gw := demogateway.Handler(demogateway.Data())
		cfg.Mount = func(mux *http.ServeMux, _ *api.Server) {
			mux.Handle("/demo/insurance", gw)
			mux.Handle("/demo/insurance/", gw)
		}
	}
	h, err := server.New(ctx, st, cfg)
	if err != nil {
		return err
	}
	where := c.dir
	if c.db != "" {
		where = "PostgreSQL " + redactDB(c.db)
	}
	fmt.Fprintf(stdout, "HQ listening on http://%s (data %s); dashboard at %s/\n", ln.Addr(), where, cfg.PublicURL)
	fmt.Fprintln(stdout, channelLine(h.Channel()))
	mln, err := metricsListener(c.metricsAddr, log)
	if err != nil {
		return err
	}
	var metricsDone chan error
	if mln != nil {
		fmt.Fprintf(stdout, "metrics without a token on http://%s/metrics (private address); on %s only with a token\n", mln.Addr(), cfg.PublicURL)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", h.MetricsHandler())
		metricsDone = make(chan error, 1)
		go func() { metricsDone <- api.Serve(ctx, api.HTTPServer(mln.Addr().String(), mux, log), mln, c.grace) }()
	}
	if c.ready != nil {
		c.ready(ln.Addr().String())
	}
	h.Start(ctx)
	err = api.Serve(ctx, api.HTTPServer(c.addr, h.Handler(), log), ln, c.grace)
	if metricsDone != nil {
		<-metricsDone
	}
	h.Stop() // before the store closes: the dispatcher writes to it
	if cerr := st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "HQ stopped cleanly")
	return nil
}

// demoSecretName is the store secret holding the demo chain secret with --db.
const demoSecretName = "demo-chain-secret"

// demoChainSecret is the demo's chain secret and where the kiosk finds it. With --data
// it is the file (DIR/chain.secret by default), created if absent. With --db it is kept
// in the database, so every replica seeds the same customer keys; --secret-file then
// receives a copy for the kiosk.
func demoChainSecret(ctx context.Context, st hq.SecretStore, c serveConfig) ([]byte, string, error) {
	if c.db == "" {
		secretFile := c.secretFile
		if secretFile == "" {
			secretFile = filepath.Join(c.dir, "chain.secret")
		}
		secret, err := demoSecret(secretFile)
		if err != nil {
			return nil, "", err
		}
		return secret, secretFile + " (give it to the kiosk with --secret-file)", nil
	}
	secret, err := st.LoadOrCreateSecret(ctx, demoSecretName, 32)
	if err != nil {
		return nil, "", fmt.Errorf("demo secret: %w", err)
	}
	if c.secretFile == "" {
		return secret, "kept in the database (add --secret-file FILE to write a copy for the kiosk)", nil
	}
	enc := base64.StdEncoding.EncodeToString(secret) + "\n"
	if old, err := os.ReadFile(c.secretFile); err == nil {
		if strings.TrimSpace(string(old)) != strings.TrimSpace(enc) {
			return nil, "", fmt.Errorf("demo secret: %s holds another secret than the database's; remove it or point --secret-file elsewhere", c.secretFile)
		}
	} else if err := os.WriteFile(c.secretFile, []byte(enc), 0o600); err != nil {
		return nil, "", fmt.Errorf("demo secret: %w", err)
	}
	return secret, c.secretFile + " (copied from the database; give it to the kiosk with --secret-file)", nil
}

// redactDB shows a database URL without its password.
func redactDB(url string) string { return pgstore.Redact(url) }

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
	return customerkey.LoadSecret(path)
}

// hqConfig builds HQ's configuration from the serve flags: WeCom when configured, else
// the log-only channel (links printed to stdout) with --demo, else none.
func hqConfig(c serveConfig, listenAddr string, data flows.Data, log *slog.Logger, stdout io.Writer) (server.Config, error) {
	msgs := data.Messages
	cfg := server.Config{Catalog: data.Catalog, PointsRules: data.Points, PointsCaps: data.PointsCaps, Messages: &msgs, Logger: log, Out: stdout, Interval: c.dispatchInterval,
		PublicURL: strings.TrimRight(c.publicURL, "/")}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + listenAddr
	}
	if c.trustForwardedFor {
		return cfg, fmt.Errorf("%w: --trust-forwarded-for believed any client's X-Forwarded-For; give --trust-proxy CIDR[,…] naming your reverse proxies instead", errUsage)
	}
	trust, err := clientip.Parse(c.trustProxy)
	if err != nil {
		return cfg, fmt.Errorf("%w: --trust-proxy: %v", errUsage, err)
	}
	cfg.TrustProxy, cfg.SecureCookie = trust, c.secureCookie
	if c.metricsTokenFile != "" {
		b, err := os.ReadFile(c.metricsTokenFile)
		if err != nil {
			return cfg, fmt.Errorf("metrics token: %w", err)
		}
		if cfg.MetricsToken = strings.TrimSpace(string(b)); len(cfg.MetricsToken) < 16 {
			return cfg, fmt.Errorf("metrics token %s: %d characters, want at least 16", c.metricsTokenFile, len(cfg.MetricsToken))
		}
	}
	if c.linkSecretFile != "" {
		secret, err := server.LoadOrCreateSecretFile(c.linkSecretFile)
		if err != nil {
			return cfg, fmt.Errorf("link secret: %w", err)
		}
		cfg.LinkSecret = secret
	}
	if c.demo {
		// Demo: send (print) each follow-up as soon as its visit reaches HQ. Only the
		// demo prints links: a production HQ without WeCom sends nothing.
		cfg.DemoChannel = true
		cfg.SendEarly = 24 * time.Hour
		if c.dispatchInterval > time.Second {
			cfg.Interval = time.Second
		}
	}
	httpCfg := wecom.HTTPConfig{Logger: log}
	if (c.wecomCorpID == "") != (c.wecomSecretFile == "") {
		return cfg, fmt.Errorf("%w: --wecom-corp-id and --wecom-secret-file go together", errUsage)
	}
	if c.wecomCorpID != "" {
		b, err := os.ReadFile(c.wecomSecretFile)
		if err != nil {
			return cfg, fmt.Errorf("wecom secret: %w", err)
		}
		cl, err := wecom.NewClient(wecom.Config{BaseURL: c.wecomBaseURL, CorpID: c.wecomCorpID, CorpSecret: strings.TrimSpace(string(b)), HTTP: httpCfg})
		if err != nil {
			return cfg, fmt.Errorf("wecom client: %w", err)
		}
		cfg.WeCom = cl
	}
	if (c.wecomCallbackToken == "") != (c.wecomCallbackAESKeyFile == "") {
		return cfg, fmt.Errorf("%w: --wecom-callback-token and --wecom-callback-aes-key-file go together", errUsage)
	}
	if c.wecomCallbackToken != "" {
		if c.wecomCorpID == "" {
			return cfg, fmt.Errorf("%w: the WeCom callback needs --wecom-corp-id (its receiveid)", errUsage)
		}
		b, err := os.ReadFile(c.wecomCallbackAESKeyFile)
		if err != nil {
			return cfg, fmt.Errorf("wecom callback key: %w", err)
		}
		cfg.WeComCallbackToken, cfg.WeComCallbackAESKey, cfg.WeComCorpID = c.wecomCallbackToken, strings.TrimSpace(string(b)), c.wecomCorpID
	}
	if c.robotKeysFile != "" {
		keys, err := readRobotKeys(c.robotKeysFile)
		if err != nil {
			return cfg, err
		}
		robot, err := wecom.NewRobot(wecom.RobotConfig{BaseURL: c.wecomBaseURL, HTTP: httpCfg})
		if err != nil {
			return cfg, fmt.Errorf("wecom robot: %w", err)
		}
		cfg.Robot, cfg.RobotKeys = robot, keys
	}
	return cfg, nil
}

// defaultMetricsAddr is where /metrics is served without a token unless --metrics-addr
// says otherwise: loopback only.
const defaultMetricsAddr = "127.0.0.1:9465"

// metricsListener listens on --metrics-addr ("" : none). The default address busy (a
// second HQ on the host, tests) is a warning — /metrics then needs a token — but an
// address given explicitly must work.
func metricsListener(addr string, log *slog.Logger) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && addr == defaultMetricsAddr {
		log.Warn("metrics address busy: /metrics is served only with a token on the main address", "addr", addr, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	return ln, nil
}

// channelLine says at start which follow-up channel is live.
func channelLine(ch string) string {
	switch ch {
	case server.ChannelWeCom:
		return "follow-up channel: WeCom customer contact"
	case server.ChannelLog:
		return "follow-up channel: log-only (demo): links are printed here, nothing is sent"
	default:
		return "follow-up channel: NONE — follow-ups are not sent (they stay not_sent, code no_channel) and earn no link points; configure WeCom with --wecom-corp-id and --wecom-secret-file"
	}
}

// readRobotKeys reads STORE_ID=WEBHOOK_KEY lines (# comments and blank lines ignored).
func readRobotKeys(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("robot keys: %w", err)
	}
	keys := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		store, key, ok := strings.Cut(line, "=")
		store, key = strings.TrimSpace(store), strings.TrimSpace(key)
		if !ok || store == "" || key == "" {
			return nil, fmt.Errorf("robot keys %s line %d: want STORE_ID=WEBHOOK_KEY", path, i+1)
		}
		keys[store] = key
	}
	return keys, nil
}

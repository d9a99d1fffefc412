//go:build !windows

package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a throwaway PostgreSQL cluster: data directory and unix socket in a temp
// dir, no TCP, fsync off. Stop kills it and removes its files; so does its watchdog when
// the process that started it dies.
type Cluster struct {
	dir    string // temp dir: data/, the socket, the log
	bindir string
	cred   *syscall.Credential // run the server as postgres (we are root); nil otherwise

	mu       sync.Mutex
	postgres *exec.Cmd
	done     chan struct{} // closed when the server process has exited
	watchdog *exec.Cmd
	wdPipe   io.WriteCloser // closing it tells the watchdog to clean up
	stopped  bool
}

// BinDir finds the PostgreSQL server binaries: $PG_BINDIR, `pg_config --bindir`, then
// /usr/lib/postgresql/<newest>/bin (Debian's layout, 15 preferred).
func BinDir() (string, error) {
	var cands []string
	if d := os.Getenv(EnvBinDir); d != "" {
		cands = append(cands, d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		cands = append(cands, strings.TrimSpace(string(out)))
	}
	cands = append(cands, "/usr/lib/postgresql/15/bin")
	more, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(more)))
	cands = append(cands, more...)
	for _, d := range cands {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s)", ErrNotInstalled, strings.Join(cands, ", "))
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// StartCluster initdb's a new cluster in a temp dir and starts it. As root the server
// runs as the `postgres` user (PostgreSQL refuses to run as root).
func StartCluster(ctx context.Context, opts Options) (*Cluster, error) {
	bindir, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hq-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	c := &Cluster{dir: dir, bindir: bindir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root needs the postgres user (from the postgresql package): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: chown temp dir: %w", err)
		}
	}
	// The watchdog first, so the files go away even if initdb is interrupted.
	if err := c.startWatchdog(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	initdb := c.command(filepath.Join(bindir, "initdb"), "-D", c.dataDir(), "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	var out bytes.Buffer
	initdb.Stdout, initdb.Stderr = &out, &out
	if err := initdb.Run(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, out.Bytes())
	}
	conf := strings.Join([]string{
		"listen_addresses = ''",
		"port = 5432", // fixed: the socket's name carries it; PGPORT must not move it
		"unix_socket_directories = '" + dir + "'",
		"fsync = " + onOff(opts.Durable),
		"synchronous_commit = " + onOff(opts.SyncCommit || opts.Durable),
		"full_page_writes = " + onOff(opts.Durable),
		"max_connections = 300",
		"shared_buffers = 128MB",
		"max_wal_size = 2GB",
		"checkpoint_timeout = 30min",
		"log_min_messages = warning",
		"logging_collector = off",
		"",
	}, "\n")
	if err := appendFile(filepath.Join(c.dataDir(), "postgresql.conf"), conf); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return fmt.Errorf("pgtest: %w", err)
	}
	return f.Close()
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// LogFile is the server's log (stderr), for failing tests to show.
func (c *Cluster) LogFile() string { return filepath.Join(c.dir, "postgres.log") }

// command runs as the cluster's owner, in its own process group (a Ctrl-C to the test
// must not reach the server before the test has cleaned up).
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	return cmd
}

// startWatchdog starts a shell that waits for its stdin to close — which happens when
// this process exits, however it exits — then stops the server and removes the files.
func (c *Cluster) startWatchdog() error {
	script := `read -r _; ` +
		`if [ -f "$1/data/postmaster.pid" ]; then p=$(head -1 "$1/data/postmaster.pid"); ` +
		`kill -QUIT "$p" 2>/dev/null; i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ` +
		`kill -KILL "$p" 2>/dev/null; fi; rm -rf "$1"`
	wd := exec.Command("/bin/sh", "-c", script, "pgtest-watchdog", c.dir)
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := wd.StdinPipe()
	if err != nil {
		return fmt.Errorf("pgtest: watchdog: %w", err)
	}
	if err := wd.Start(); err != nil {
		return fmt.Errorf("pgtest: watchdog: %w", err)
	}
	c.watchdog, c.wdPipe = wd, pipe
	return nil
}

// Start starts the server (again, after StopServer) and waits until it accepts
// connections.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("pgtest: cluster removed")
	}
	if c.postgres != nil {
		return nil
	}
	logf, err := os.OpenFile(c.LogFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: log: %w", err)
	}
	cmd := c.command(filepath.Join(c.bindir, "postgres"), "-D", c.dataDir())
	cmd.Stdout, cmd.Stderr = logf, logf
	// No Pdeathsig: it fires when the OS thread that started the server exits, which
	// a Go program does not control; the watchdog covers the death of this process.
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	c.postgres, c.done = cmd, done
	for {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-done:
			c.postgres = nil
			log, _ := os.ReadFile(c.LogFile())
			return fmt.Errorf("pgtest: postgres exited at start: %s", tail(log, 2000))
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres did not start: %w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StopServer stops the server the way a crash or an operator's `pg_ctl stop -m
// immediate` would (SIGQUIT: connections cut, no checkpoint) and waits for it to exit;
// Start brings it back on the same data.
func (c *Cluster) StopServer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.postgres == nil {
		return
	}
	_ = c.postgres.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.postgres.Process.Kill()
		<-c.done
	}
	c.postgres = nil
}

// Stop stops the server for good and removes the cluster's files.
func (c *Cluster) Stop() {
	c.StopServer()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	if c.wdPipe != nil {
		c.wdPipe.Close() // the watchdog removes the directory and exits
		_ = c.watchdog.Wait()
	} else {
		os.RemoveAll(c.dir)
	}
}

// DSN connects to database name on the cluster as the superuser.
func (c *Cluster) DSN(name string) string {
	q := url.Values{"host": {c.dir}, "port": {"5432"}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + name + "?" + q.Encode()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

//go:build !windows

package pgtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	Main(m, func(ctx context.Context, dsn string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `CREATE TABLE marker (v text); INSERT INTO marker VALUES ('from template')`)
		return err
	})
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// Each test's database is a copy of the prepared template, separate from the others.
func TestDBFromTemplateAndIsolated(t *testing.T) {
	ctx := context.Background()
	a, b := connect(t, DB(t)), connect(t, DB(t))
	var v string
	if err := a.QueryRow(ctx, `SELECT v FROM marker`).Scan(&v); err != nil || v != "from template" {
		t.Fatalf("template row: %q, %v", v, err)
	}
	if _, err := a.Exec(ctx, `INSERT INTO marker VALUES ('only in a')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM marker`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("b sees %d rows (%v), want 1", n, err)
	}
	var fsync string
	if err := a.QueryRow(ctx, `SHOW fsync`).Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if os.Getenv(EnvDSN) == "" && fsync != "off" {
		t.Errorf("fsync = %s on the throwaway cluster", fsync)
	}
}

// A cluster can be stopped and started on the same data, and Stop removes everything:
// no server process and no files are left.
func TestClusterStopStartAndCleanup(t *testing.T) {
	if _, err := BinDir(); err != nil {
		unavailable(t, true, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, Options{SyncCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn := connect(t, c.DSN("postgres"))
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	pid := postmasterPID(t, c)
	c.StopServer()
	if _, err := conn.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("query succeeded on a stopped server")
	}
	if alive(pid) {
		t.Fatalf("postmaster %d still running after StopServer", pid)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := connect(t, c.DSN("postgres")).QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 7 {
		t.Fatalf("after restart: %d, %v", v, err)
	}
	pid = postmasterPID(t, c)
	c.Stop()
	if alive(pid) {
		t.Fatalf("postmaster %d still running after Stop", pid)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Fatalf("cluster dir left behind: %v", err)
	}
}

// A test binary killed with SIGKILL cannot clean up: its watchdog stops the server and
// removes the files.
func TestWatchdogCleansUpAfterKill(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		ctx := context.Background()
		c, err := StartCluster(ctx, Options{})
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("DIR=" + c.dir + "\n")
		time.Sleep(time.Hour) // killed by the parent
		return
	}
	if _, err := BinDir(); err != nil {
		unavailable(t, true, err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestWatchdogCleansUpAfterKill$")
	cmd.Env = append(os.Environ(), "PGTEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dir string
	buf := make([]byte, 4096)
	var got []byte
	deadline := time.Now().Add(time.Minute)
	for dir == "" && time.Now().Before(deadline) {
		n, err := out.Read(buf)
		got = append(got, buf[:n]...)
		if i := strings.Index(string(got), "DIR="); i >= 0 && strings.Contains(string(got[i:]), "\n") {
			dir = strings.TrimSpace(strings.SplitN(string(got[i+4:]), "\n", 2)[0])
		}
		if err != nil {
			break
		}
	}
	if dir == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start a cluster: %s", got)
	}
	pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid := atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	cmd.Process.Kill()
	cmd.Wait()
	for i := 0; i < 200 && (alive(pid) || exists(dir)); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(pid) {
		t.Errorf("postmaster %d survived its test binary", pid)
	}
	if exists(dir) {
		t.Errorf("%s survived its test binary", dir)
	}
}

func postmasterPID(t *testing.T, c *Cluster) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.postgres == nil {
		t.Fatal("no server running")
	}
	return c.postgres.Process.Pid
}

func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie (state Z) is gone for our purposes.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }

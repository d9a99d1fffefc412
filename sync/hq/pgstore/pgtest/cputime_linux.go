package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of the CPU times in /proc/PID/stat (100 on
// every architecture Go runs on).
const clockTick = 10 * time.Millisecond

// CPUTime is the CPU time (user + system) the server has used so far: the postmaster's
// own, that of its children it has reaped (backends of closed connections), and that of
// its live children (backends, WAL writer, checkpointer, autovacuum). Benchmarks read it
// before and after a run to report the database's CPU per record, which — unlike wall
// time — does not depend on what else the machine is doing.
func (c *Cluster) CPUTime() (time.Duration, error) {
	c.mu.Lock()
	cmd := c.postgres
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, errors.New("pgtest: server not running")
	}
	pid := cmd.Process.Pid
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	// utime, stime, cutime, cstime are fields 14–17 (f[11:15] after the command).
	total := sumTicks(f[11:15])
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		child, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil || child == pid {
			continue
		}
		cf, err := procStat(child)
		if err != nil || cf[1] != strconv.Itoa(pid) { // field 4: ppid
			continue
		}
		total += sumTicks(cf[11:13])
	}
	return time.Duration(total) * clockTick, nil
}

// procStat returns the fields of /proc/PID/stat after the command name (field 3 on).
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("pgtest: /proc/%d/stat: no command", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 15 {
		return nil, fmt.Errorf("pgtest: /proc/%d/stat: %d fields", pid, len(f))
	}
	out := make([]string, len(f))
	for j := range f {
		out[j] = string(f[j])
	}
	return out, nil
}

func sumTicks(fs []string) int64 {
	var n int64
	for _, s := range fs {
		v, _ := strconv.ParseInt(s, 10, 64)
		n += v
	}
	return n
}

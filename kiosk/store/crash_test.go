package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pharmachain/counter/flows"
)

const crashEnvPath, crashEnvRound = "KIOSK_STORE_CRASH_PATH", "KIOSK_STORE_CRASH_ROUND"

// TestCrashChild is the child side of TestCrashKillSafety: it saves visits step by step
// and prints "ack <id> <steps> <outcome> end" after each SaveVisit returned. It also
// acknowledges outbox entries now and then, like the drainer does.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnvPath)
	if path == "" {
		t.Skip("helper process for TestCrashKillSafety")
	}
	round := os.Getenv(crashEnvRound)
	s, err := Open(path, Options{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	out := os.Stdout
	for i := 0; ; i++ {
		id := fmt.Sprintf("R%s-%06d", round, i)
		start := t0.Add(time.Duration(i) * time.Minute)
		final := 4
		if i%3 == 2 {
			final = 2 // abandoned after step 2
		}
		for step := 0; step <= final; step++ {
			v := visitAt(id, start, custKey(i), step, false)
			if err := s.SaveVisit(ctx, v); err != nil {
				fmt.Fprintln(os.Stderr, "child save:", err)
				os.Exit(4)
			}
			fmt.Fprintf(out, "ack %s %d %s end\n", id, step, v.Outcome)
		}
		v := visitAt(id, start, custKey(i), final, true)
		if err := s.SaveVisit(ctx, v); err != nil {
			fmt.Fprintln(os.Stderr, "child save final:", err)
			os.Exit(4)
		}
		fmt.Fprintf(out, "ack %s %d %s end\n", id, final, v.Outcome)
		if i%4 == 3 {
			es, err := s.Peek(ctx, 3, 1<<20)
			if err == nil && len(es) > 0 {
				seqs := []uint64{es[0].Seq}
				if len(es) > 1 {
					seqs = append(seqs, es[1].Seq)
				}
				if err := s.Ack(ctx, seqs); err != nil {
					fmt.Fprintln(os.Stderr, "child ack:", err)
					os.Exit(4)
				}
			}
		}
	}
}

type ackRec struct {
	steps   int
	outcome string
}

// TestCrashKillSafety kills a child process that saves visits with SIGKILL at random
// moments, then checks every acknowledged save survived and the visit table, indexes,
// outbox and counters agree.
func TestCrashKillSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs child processes; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), FileName)
	rng := rand.New(rand.NewPCG(7, 11))
	acked := map[string]ackRec{}
	rounds := 6
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnvPath+"="+path, crashEnvRound+"="+strconv.Itoa(round))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Wait for the first acknowledgement, then kill at a random moment.
		first := true
		deadline := time.After(30 * time.Second)
		killAt := time.Duration(50+rng.IntN(400)) * time.Millisecond
		var kill <-chan time.Time
		n := 0
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				f := strings.Fields(l)
				if len(f) != 5 || f[0] != "ack" || f[4] != "end" {
					continue // a line cut by the kill
				}
				steps, _ := strconv.Atoi(f[2])
				acked[f[1]] = ackRec{steps, f[3]}
				n++
				if first {
					first = false
					kill = time.After(killAt)
				}
			case <-kill:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				kill = nil
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: child made no progress", round)
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child did not die by SIGKILL: %v", round, err)
		}
		t.Logf("round %d: killed after %s, %d acknowledged saves", round, killAt, n)
		checkConsistent(t, path, acked)
	}
}

func checkConsistent(t *testing.T, path string, acked map[string]ackRec) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for id, a := range acked {
		v, err := s.Visit(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged visit %s lost: %v", id, err)
		}
		if flows.StepsDone(v) < a.steps {
			t.Fatalf("visit %s has %d steps, %d were acknowledged", id, flows.StepsDone(v), a.steps)
		}
		if finished(a.outcome) && v.Outcome != a.outcome {
			t.Fatalf("visit %s outcome %s, acknowledged %s", id, v.Outcome, a.outcome)
		}
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		entries := map[string]int{}
		pending, parked := 0, 0
		for _, b := range [][]byte{bOutbox, bOutboxParked} {
			if err := tx.Bucket(b).ForEach(func(k, v []byte) error {
				var e struct{ Kind, ID string }
				if string(b) == string(bOutbox) {
					pending++
					oe, err := decodeEntry(k, v)
					if err != nil {
						return err
					}
					e.Kind, e.ID = oe.Kind, oe.ID
				} else {
					parked++
					_, oe, err := decodeParked(k, v)
					if err != nil {
						return err
					}
					e.Kind, e.ID = oe.Kind, oe.ID
				}
				entries[e.ID]++
				return nil
			}); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if int(getU64(meta, keyPending)) != pending || int(getU64(meta, keyParked)) != parked {
			return fmt.Errorf("counters %d/%d, buckets hold %d/%d", getU64(meta, keyPending), getU64(meta, keyParked), pending, parked)
		}
		visits, open := tx.Bucket(bVisits), tx.Bucket(bVisitsOpen)
		nv := 0
		if err := visits.ForEach(func(k, raw []byte) error {
			nv++
			v, state, err := decodeVisit(k, raw)
			if err != nil {
				return err
			}
			h, _, _ := splitVisit(k, raw)
			seq := h.seq
			state = syncState(tx, h)
			if h.day != flows.DayOf(v.StartedAt) {
				return fmt.Errorf("visit %s: header day %s, started %s", v.ID, h.day, flows.DayOf(v.StartedAt))
			}
			if tx.Bucket(bVisitsByDay).Get(dayIndexKey(flows.DayOf(v.StartedAt), v.ID)) == nil {
				return fmt.Errorf("visit %s missing from the day index", v.ID)
			}
			if finished(v.Outcome) && seq == 0 && h.state == stateQueued {
				return fmt.Errorf("visit %s: queued without seq", v.ID)
			}
			if !finished(v.Outcome) {
				if open.Get(k) == nil || state != stateOpen || entries[v.ID] != 0 {
					return fmt.Errorf("in-progress visit %s: open=%v state=%d entries=%d", v.ID, open.Get(k) != nil, state, entries[v.ID])
				}
				return nil
			}
			if open.Get(k) != nil {
				return fmt.Errorf("finished visit %s still open", v.ID)
			}
			want := 0
			switch state {
			case stateQueued:
				want = 1
			case stateAcked:
			default:
				return fmt.Errorf("finished visit %s has state %d", v.ID, state)
			}
			if entries[v.ID] != want {
				return fmt.Errorf("finished visit %s (state %d) has %d outbox entries, want %d", v.ID, state, entries[v.ID], want)
			}
			return nil
		}); err != nil {
			return err
		}
		if n := tx.Bucket(bVisitsByDay).Stats().KeyN; n != nv {
			return fmt.Errorf("day index has %d keys for %d visits", n, nv)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("store inconsistent after kill: %v", err)
	}
}

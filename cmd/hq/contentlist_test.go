package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq"
)

func TestContentListOffline(t *testing.T) {
	dir := newHQDir(t)
	if code, _, errs := runHQ(t, "content", "publish", "--data", dir, "--from", contentDir(t, points("2")), "--note", "首个版本", "--stores", "S001"); code != 0 {
		t.Fatal(errs)
	}
	st, err := openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, s := range []hq.ContentStatus{
		{StoreID: "S001", Version: 1, At: now},
		{StoreID: "S002", Version: 0, At: now, Refused: &hq.ContentRefusal{Version: 1, Reason: "content hash mismatch", At: now}},
	} {
		if err := st.RecordContentStatus(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, out, errs := runHQ(t, "content", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("list: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "VERSION") {
		t.Fatalf("list:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != "1" || !strings.Contains(lines[1], "首个版本") || !strings.Contains(lines[1], " S001 ") {
		t.Errorf("version 1 line: %q", lines[1])
	}
	if !strings.HasPrefix(lines[2], "0 ") || !strings.Contains(lines[2], "(embedded)") || !strings.Contains(lines[2], "all other stores") || !strings.Contains(lines[2], "S002") {
		t.Errorf("version 0 line: %q", lines[2])
	}
	if lines[3] != "S002 refuses version 1 (runs 0): content hash mismatch" {
		t.Errorf("refusal line: %q", lines[3])
	}
	code, out, _ = runHQ(t, "content", "list", "--data", dir, "--json")
	if code != 0 || !strings.Contains(out, `"versions"`) || !strings.Contains(out, `"refused"`) {
		t.Fatalf("--json: %d %s", code, out)
	}
	if code, _, errs := runHQ(t, "content", "list", "--data", t.TempDir()); code != 1 || errs == "" {
		t.Errorf("a folder without hq.db: %d", code)
	}
}

package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
)

func TestAuditHandlerParams(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	_ = st.Audit(ctx, hq.AuditEntry{Actor: "admin", Action: "export", Detail: "table=stores.csv", At: time.Date(2026, 3, 1, 12, 0, 0, 0, flows.Shanghai())})
	_ = st.Audit(ctx, hq.AuditEntry{Actor: "hq", Action: "token.create", Detail: "followup=V1-f1", At: time.Date(2026, 3, 2, 12, 0, 0, 0, flows.Shanghai())})
	h := AuditHandler(st, func(*http.Request) string { return "admin" }, nil)
	call := func(q string) (int, AuditResponse) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/audit?"+q, nil))
		var out AuditResponse
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, out := call("from=2026-03-01&to=2026-03-01"); code != 200 || len(out.Entries) != 1 || out.Entries[0].Action != "export" {
		t.Fatalf("day window: %d %+v", code, out)
	}
	if code, out := call("actor=hq"); code != 200 || len(out.Entries) != 1 || out.Entries[0].Actor != "hq" {
		t.Fatalf("actor: %d %+v", code, out)
	}
	for _, bad := range []string{"from=yesterday", "to=2026-02-30", "limit=0", "limit=x", "limit=20000"} {
		if code, _ := call(bad); code != http.StatusBadRequest {
			t.Fatalf("%s: %d", bad, code)
		}
	}
	// Reading the log is itself audited.
	entries, _ := st.AuditEntries(ctx, hq.AuditQuery{Actor: "admin"})
	reads := 0
	for _, e := range entries {
		if e.Action == "audit.read" {
			reads++
		}
	}
	if reads != 2 {
		t.Fatalf("audit.read entries %d, want 2", reads)
	}
}

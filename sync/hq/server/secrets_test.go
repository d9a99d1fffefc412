package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/pgstore"
	"github.com/pharmachain/counter/sync/hq/pgstore/pgtest"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/wire"
)

// The secrets of this test: each must never appear in a log line, an API answer or the
// database file, whatever WeCom does.
const (
	leakCorpSecret  = "CorpSecretXyZ0987654321"
	leakAccessToken = "AccessTokenQwE1234567890"
	leakRobotKey    = "RobotKeyAsD5678901234"
)

// closedURL returns the address of a loopback port nobody listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// garbageWeCom answers every request with a body that is not WeCom's JSON and echoes
// the request URL (query and all) back, as a misconfigured proxy might.
func garbageWeCom(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<html>bad gateway config for %s</html>", r.URL.String())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// brokenAfterToken hands out an access token, then drops the connection of every send
// and robot post mid-request (the outcome of those is unknown: the URL with the access
// token or robot key is in the transport error).
func brokenAfterToken(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/gettoken" {
			fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","access_token":%q,"expires_in":7200}`, leakAccessToken)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		c, _, err := hj.Hijack()
		if err == nil {
			c.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// errcodeEchoWeCom answers with a WeCom error whose errmsg echoes the query.
func errcodeEchoWeCom(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/gettoken" {
			fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","access_token":%q,"expires_in":7200}`, leakAccessToken)
			return
		}
		b, _ := json.Marshal(map[string]any{"errcode": 40014, "errmsg": "invalid access_token " + r.URL.RawQuery + ", hint: " + r.URL.Query().Get("access_token") + r.URL.Query().Get("key")})
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// leakBackend is a store to drive the follow-up through, and how to read everything
// it wrote once closed.
type leakBackend struct {
	name string
	open func(t *testing.T) (st hq.Store, dump func(t *testing.T) string)
}

// bboltBackend: the database file, byte for byte.
func bboltBackend() leakBackend {
	return leakBackend{"bbolt", func(t *testing.T) (hq.Store, func(*testing.T) string) {
		dbPath := filepath.Join(t.TempDir(), "hq.db")
		st, err := boltstore.Open(dbPath, boltstore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return st, func(t *testing.T) string {
			db, err := os.ReadFile(dbPath)
			if err != nil {
				t.Fatal(err)
			}
			return string(db)
		}
	}}
}

// postgresBackend: every row of every table of the database, as JSON (bytea columns
// come out hex-encoded: the search looks for the hex form too).
func postgresBackend() leakBackend {
	return leakBackend{"PostgreSQL", func(t *testing.T) (hq.Store, func(*testing.T) string) {
		dsn := pgtest.DB(t)
		st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st, func(t *testing.T) string {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			tables, err := conn.Query(ctx, `SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			names, err := pgx.CollectRows(tables, pgx.RowTo[string])
			if err != nil || len(names) < 10 {
				t.Fatalf("tables %v %v", names, err)
			}
			var b strings.Builder
			for _, n := range names {
				rows, err := conn.Query(ctx, `SELECT row_to_json(t)::text FROM `+n+` t`)
				if err != nil {
					t.Fatal(err)
				}
				lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "== %s\n%s\n", n, strings.Join(lines, "\n"))
			}
			return b.String()
		}
	}}
}

func TestSecretsNeverLeak(t *testing.T) {
	for _, be := range []leakBackend{bboltBackend(), postgresBackend()} {
		for _, c := range []struct {
			name string
			url  func(*testing.T) string
		}{
			{"closed port", closedURL},
			{"garbage answers", garbageWeCom},
			{"connection dropped after token", brokenAfterToken},
			{"errcode echoing the query", errcodeEchoWeCom},
		} {
			t.Run(be.name+"/"+c.name, func(t *testing.T) { checkNoLeak(t, c.url(t), be) })
		}
	}
}

func checkNoLeak(t *testing.T, wecomURL string, be leakBackend) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, flows.Shanghai())}
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, dump := be.open(t)
	fast := wecom.HTTPConfig{Timeout: 2 * time.Second, RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Logger: log}
	cl, err := wecom.NewClient(wecom.Config{BaseURL: wecomURL, CorpID: "wwLEAKTEST", CorpSecret: leakCorpSecret, HTTP: fast, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	robot, err := wecom.NewRobot(wecom.RobotConfig{BaseURL: wecomURL, HTTP: fast, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(context.Background(), st, Config{LinkSecret: []byte("0123456789abcdef0123456789abcdef"), PublicURL: "http://hq.local:8080",
		WeCom: cl, Robot: robot, RobotKeys: map[string]string{"S001": leakRobotKey}, Logger: log, Now: clk.Now, Interval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	storeTok, _ := hq.CreateToken(ctx, st, hq.Principal{StoreID: "S001"})
	adminTok, _ := hq.CreateToken(ctx, st, hq.Principal{Admin: true})
	var answers bytes.Buffer
	do := func(method, path, tok string, body any) int {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(&answers, "%s %s → %d %s\n", method, path, resp.StatusCode, b)
		return resp.StatusCode
	}

	v := completeVisit("VLEAK1", clk.Now(), true)
	if code := do("POST", wire.PathRecords, storeTok, wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{v}}); code != 200 {
		t.Fatalf("ingest: %d\n%s", code, answers.String())
	}
	if err := st.BindContact(ctx, hq.Contact{StoreID: "S001", CustomerKey: v.CustomerKey, Sender: "zhangsan",
		ExternalUserID: "wmEXTERNAL01", ConsentAt: clk.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	w.Start(ctx)
	stop := w.Stop
	// Due, then past the 2-hour send window (escalation) and into the evening summary.
	clk.Add(24*time.Hour + 3*time.Hour)
	deadline := time.Now().Add(20 * time.Second)
	for {
		it, err := st.FollowUp(ctx, "S001:VLEAK1-f1")
		if err != nil {
			t.Fatal(err)
		}
		// Sent (or failed), and the overdue escalation went to the store's robot (or
		// failed to: an error the dispatcher logs).
		escalated := !it.EscalatedAt.IsZero() || strings.Contains(logs.String(), "escalate store S001")
		if it.Attempts > 0 && it.Status != hq.StatusSending && escalated {
			if it.LastCode == "" {
				t.Errorf("follow-up %s without a reason code (reason %q)", it.Status, it.LastReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow-up not attempted and escalated: %+v\nlogs:\n%s", it, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	do("GET", wire.PathFollowups+"?status=overdue", storeTok, nil)
	do("GET", wire.PathFollowups+"?status=overdue", adminTok, nil)
	do("GET", wire.PathAudit, adminTok, nil)
	if !strings.Contains(answers.String(), `"code":"`) {
		t.Errorf("the overdue answer carries no reason code:\n%s", answers.String())
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	data := dump(t)
	if !strings.Contains(data, "VLEAK1") {
		t.Fatalf("the %s dump does not hold the visit: it proves nothing", be.name)
	}
	for name, text := range map[string]string{"log": logs.String(), "API answers": answers.String(), be.name + " data": data} {
		for _, secret := range []string{leakCorpSecret, leakAccessToken, leakRobotKey} {
			for _, form := range []string{secret, hex.EncodeToString([]byte(secret))} {
				if i := strings.Index(text, form); i >= 0 {
					t.Errorf("%s leaks %s: …%s…", name, secret, text[max(0, i-200):min(len(text), i+len(form)+40)])
				}
			}
		}
	}
	if t.Failed() || testing.Verbose() {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), "wecom") || strings.Contains(sc.Text(), "follow-up") {
				t.Log(sc.Text())
			}
		}
	}
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/followup"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/hq/wecom/wecomtest"
	"github.com/pharmachain/counter/sync/wire"
)

const (
	cbToken  = "hqCallbackTOKEN"
	cbAESKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	cbCorp   = "wwCORP01"
	extUser  = "wmEXTERNALcustomer01"
)

// The whole intake over real HTTP and a real bbolt file: WeCom verifies the callback
// URL, the customer adds the staff member through the visit's QR code, HQ binds them, the
// WeCom channel then sends the visit's follow-up to that external contact; forged,
// foreign and unknown callbacks bind nothing; removing the contact unbinds and cancels.
func TestWeComCallbackBindsAndUnbinds(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, flows.Shanghai())}
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fake := wecomtest.New(cbCorp, "sec")
	defer fake.Close()
	client, err := wecom.NewClient(wecom.Config{BaseURL: fake.URL, CorpID: cbCorp, CorpSecret: "sec", Now: clk.Now,
		HTTP: wecom.HTTPConfig{Timeout: 2 * time.Second, RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Logger: log}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(context.Background(), st, Config{LinkSecret: []byte("0123456789abcdef0123456789abcdef"), PublicURL: "http://hq.local",
		WeCom: client, WeComCallbackToken: cbToken, WeComCallbackAESKey: cbAESKey, WeComCorpID: cbCorp, Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	storeTok, _ := hq.CreateToken(ctx, st, hq.Principal{StoreID: "S001"})
	cbURL := srv.URL + PathWeComCallback
	wc := wecomtest.Callbacker{Token: cbToken, EncodingAESKey: cbAESKey, CorpID: cbCorp}

	ingest := func(vs ...flows.Visit) {
		t.Helper()
		b, _ := json.Marshal(wire.RecordsRequest{StoreID: "S001", Records: vs})
		req, _ := http.NewRequest("POST", srv.URL+wire.PathRecords, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+storeTok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("ingest: %d", resp.StatusCode)
		}
	}
	send := func(c wecomtest.Callbacker, ev []byte) (int, string) {
		t.Helper()
		u, body, err := c.Event(cbURL, ev)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(u, "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	add := func(state, ext string) []byte {
		return wecomtest.ContactEvent(cbCorp, wecom.ChangeAddExternalContact, "staff01", ext, state)
	}
	bound := func() (hq.Contact, bool) {
		c, ok, err := st.Contact(ctx, "S001", "0123456789abcdef0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		return c, ok
	}

	v1, v2 := completeVisit("01JV1CONSENTED0000000000AA", clk.Now(), true), completeVisit("01JV2NOCONSENT000000000AAA", clk.Now(), false)
	ingest(v1, v2)

	// WeCom's URL verification.
	vu, _ := wc.VerifyURL(cbURL, "echo-4711")
	resp, err := http.Get(vu)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "echo-4711" {
		t.Fatalf("url verification: %d %q", resp.StatusCode, b)
	}

	// Forged (wrong token → bad signature) and foreign (another corp's receiveid): 403.
	forged := wecomtest.Callbacker{Token: "guessed", EncodingAESKey: cbAESKey, CorpID: cbCorp}
	if code, body := send(forged, add(v1.ID, extUser)); code != 403 || body != "bad signature" {
		t.Fatalf("forged: %d %q", code, body)
	}
	foreign := wecomtest.Callbacker{Token: cbToken, EncodingAESKey: cbAESKey, CorpID: "wwOTHERCORP"}
	if code, _ := send(foreign, add(v1.ID, extUser)); code != 403 {
		t.Fatalf("foreign receiveid: %d", code)
	}
	// Unknown visit, no state, no consent: answered "success" (no retries), nothing bound.
	for _, state := range []string{"01JUNKNOWNVISIT00000000000", "", v2.ID, "<script>"} {
		if code, body := send(wc, add(state, extUser)); code != 200 || body != "success" {
			t.Fatalf("state %q: %d %q", state, code, body)
		}
	}
	if _, ok := bound(); ok {
		t.Fatal("bound without a valid, consented visit")
	}

	// The real thing.
	if code, body := send(wc, add(v1.ID, extUser)); code != 200 || body != "success" {
		t.Fatalf("add_external_contact: %d %q", code, body)
	}
	c, ok := bound()
	if !ok || c.Sender != "staff01" || c.ExternalUserID != extUser || !c.ConsentAt.Equal(v1.FollowUp.At) || c.VisitID != v1.ID {
		t.Fatalf("binding %+v %v", c, ok)
	}
	// WeCom retries the same event: fine. Someone else scanning the same QR: ignored.
	if code, _ := send(wc, add(v1.ID, extUser)); code != 200 {
		t.Fatalf("retry: %d", code)
	}
	if code, _ := send(wc, add(v1.ID, "wmSOMEONEELSE")); code != 200 {
		t.Fatal(code)
	}
	if c, _ := bound(); c.ExternalUserID != extUser {
		t.Fatalf("a second scan of the visit's QR rebound the customer: %+v", c)
	}

	// 24 h later the dispatcher sends V1's follow-up through WeCom to that contact.
	clk.Add(24 * time.Hour)
	if _, err := w.Dispatcher().DispatchDue(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || len(msgs[0].ExternalUserID) != 1 || msgs[0].ExternalUserID[0] != extUser || msgs[0].Sender != "staff01" ||
		!strings.Contains(msgs[0].LinkURL, "http://hq.local/f/") || !strings.Contains(msgs[0].Text, "降压药") {
		t.Fatalf("WeCom got %+v", msgs)
	}
	if it, _ := st.FollowUp(ctx, hq.FollowUpID("S001", v1.FollowUp.FollowUp.ID)); it.Status != hq.StatusSent {
		t.Fatalf("V1: %+v", it)
	}

	// The next visit's follow-up is scheduled; then the customer removes the staff member.
	v3 := completeVisit("01JV3NEXTVISIT000000000AAA", clk.Now(), true)
	ingest(v3)
	if code, body := send(wc, wecomtest.ContactEvent(cbCorp, wecom.ChangeDelFollowUser, "staff01", extUser, "")); code != 200 || body != "success" {
		t.Fatalf("del_follow_user: %d %q", code, body)
	}
	if _, ok := bound(); ok {
		t.Fatal("binding left after the customer removed the contact")
	}
	it, _ := st.FollowUp(ctx, hq.FollowUpID("S001", v3.FollowUp.FollowUp.ID))
	if it.Status != hq.StatusFailed || it.LastReason != followup.ReasonContactRemoved || it.LastCode != followup.CodeContactRemoved {
		t.Fatalf("V3 after removal: %+v", it)
	}
	clk.Add(25 * time.Hour)
	if _, err := w.Dispatcher().DispatchDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Messages()); n != 1 {
		t.Fatalf("%d WeCom messages after the removal, want still 1", n)
	}

	// Audit: bind (visit id only), ignored, unbind; never the WeCom id or customer key.
	entries, err := st.AuditEntries(ctx, hq.AuditQuery{To: clk.Now().Add(time.Hour), Actor: "wecom", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	acts := map[string][]string{}
	for _, e := range entries {
		acts[e.Action] = append(acts[e.Action], e.Detail)
		if strings.Contains(e.Detail, extUser) || strings.Contains(e.Detail, "0123456789abcdef") || strings.Contains(e.Detail, "<") {
			t.Fatalf("audit leaks: %+v", e)
		}
	}
	if d := acts["contact.bind"]; len(d) != 2 || d[0] != "visit="+v1.ID { // the first bind and WeCom's retry
		t.Fatalf("contact.bind %q", d)
	}
	if d := acts["contact.ignored"]; len(d) != 5 || !strings.Contains(strings.Join(d, ";"), "visit=01JUNKNOWNVISIT00000000000 reason=unknown_visit") ||
		!strings.Contains(strings.Join(d, ";"), "reason=no_wecom_consent") || !strings.Contains(strings.Join(d, ";"), "reason=visit_already_bound") {
		t.Fatalf("contact.ignored %q", d)
	}
	if d := acts["contact.unbind"]; len(d) != 1 || d[0] != "contacts=1 followups_cancelled=1" {
		t.Fatalf("contact.unbind %q", d)
	}
	if strings.Contains(logs.String(), extUser) || strings.Contains(logs.String(), "wmSOMEONEELSE") {
		t.Fatal("ExternalUserID logged")
	}
}

func TestWeComCallbackConfig(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hq.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := Config{LinkSecret: []byte("0123456789abcdef0123456789abcdef"), PublicURL: "http://hq.local", Logger: slog.New(slog.DiscardHandler)}
	for _, c := range []struct{ tok, key, corp string }{{cbToken, cbAESKey, ""}, {cbToken, "short", cbCorp}, {"", cbAESKey, cbCorp}} {
		cfg := base
		cfg.WeComCallbackToken, cfg.WeComCallbackAESKey, cfg.WeComCorpID = c.tok, c.key, c.corp
		if _, err := New(context.Background(), st, cfg); err == nil {
			t.Errorf("callback config %+v accepted", c)
		}
	}
	w, err := New(context.Background(), st, base)
	if err != nil || w.callback != nil {
		t.Fatalf("no callback configured: %v %v", w, err)
	}
}

package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/hq/wecom/wecomtest"
	"github.com/pharmachain/counter/sync/wire"
)

// TestWeComCallbackReplayRefused: a captured add-contact callback replayed
// within the timestamp window — say after the customer removed the contact — is refused
// (409) and binds nothing; the nonce is remembered in the HQ store, shared by replicas.
// It fails on the code before the fix (the replay was answered "success" and re-bound
// the removed contact).
func TestWeComCallbackReplayRefused(t *testing.T) {
	fake := wecomtest.New(cbCorp, "sec")
	defer fake.Close()
	client, err := wecom.NewClient(wecom.Config{BaseURL: fake.URL, CorpID: cbCorp, CorpSecret: "sec",
		HTTP: wecom.HTTPConfig{Timeout: 2 * time.Second, RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	h := startHQ(t, Config{WeCom: client, WeComCallbackToken: cbToken, WeComCallbackAESKey: cbAESKey, WeComCorpID: cbCorp}, "S001")
	h.putRoster(t, "S001", "P01")
	v := storeVisit("01JREPLAYVISIT0000000000AA", "S001", "P01", h.clk.Now())
	if code, b := h.do(t, "POST", wire.PathRecords, h.tokens["S001"], wire.RecordsRequest{StoreID: "S001", Records: []flows.Visit{v}}); code != 200 {
		t.Fatalf("ingest: %d %s", code, b)
	}
	wc := wecomtest.Callbacker{Token: cbToken, EncodingAESKey: cbAESKey, CorpID: cbCorp}
	cbURL := h.srv.URL + PathWeComCallback
	post := func(u string, body []byte) (int, string) {
		resp, err := http.Post(u, "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bound := func() bool {
		_, ok, err := h.st.Contact(context.Background(), "S001", v.CustomerKey)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	addURL, addBody, err := wc.Event(cbURL, wecomtest.ContactEvent(cbCorp, wecom.ChangeAddExternalContact, "staff01", "wmREPLAY01", v.ID))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := post(addURL, addBody); code != 200 || body != "success" || !bound() {
		t.Fatalf("add: %d %s, bound %v", code, body, bound())
	}
	delURL, delBody, err := wc.Event(cbURL, wecomtest.ContactEvent(cbCorp, wecom.ChangeDelFollowUser, "staff01", "wmREPLAY01", ""))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(delURL, delBody); code != 200 || bound() {
		t.Fatalf("remove: %d, bound %v", code, bound())
	}
	// The captured add, replayed as it was.
	if code, body := post(addURL, addBody); code != http.StatusConflict || bound() {
		t.Fatalf("replayed add: %d %s, bound %v; want 409 and nothing bound", code, body, bound())
	}
	if code, _ := post(delURL, delBody); code != http.StatusConflict {
		t.Fatalf("replayed remove: %d, want 409", code)
	}
}

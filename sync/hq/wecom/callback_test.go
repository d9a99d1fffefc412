package wecom_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pharmachain/counter/sync/hq/wecom"
	"github.com/pharmachain/counter/sync/hq/wecom/wecomtest"
)

// WeCom's own published sample (callback/Sample.php of the official weworkapi SDK): the
// URL-verification request of a corp and the plaintext openssl decrypts it to.
const (
	sampleToken   = "QDG6eK"
	sampleAESKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	sampleCorpID  = "wx5823bf96d3bd56c7"
	sampleSig     = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	sampleTS      = "1409659589"
	sampleNonce   = "263014780"
	sampleEchoStr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	sampleEcho    = "1616140317555161061"
)

// A vector built outside Go: key bytes 0x00…0x1f, prefix "0123456789abcdef", msg
// "<xml>hi</xml>", receiveid "wwCORP01", padded with 23 × 0x17 and encrypted with
// `openssl enc -aes-256-cbc -K 0001…1f -iv 0001…0f -nopad`.
const (
	kaAESKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	kaCorpID = "wwCORP01"
	kaMsg    = "<xml>hi</xml>"
	kaCipher = "4j/AuRx71kQlxVlzbpsMWKGf9xzPi7Qdqmzc8Y7RRbwa43vIzuuSr/MNXT2wK8+Bp5LtVbhG1dAeuhVU4X4QOQ=="
)

func TestCrypterKnownAnswers(t *testing.T) {
	c, err := wecom.NewCrypter(sampleToken, sampleAESKey, sampleCorpID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Verify(sampleSig, sampleTS, sampleNonce, sampleEchoStr) {
		t.Fatalf("WeCom's sample signature rejected; computed %s", c.Signature(sampleTS, sampleNonce, sampleEchoStr))
	}
	msg, err := c.Decrypt(sampleEchoStr)
	if err != nil || string(msg) != sampleEcho {
		t.Fatalf("WeCom's sample echostr: %q, %v", msg, err)
	}
	other, _ := wecom.NewCrypter(sampleToken, sampleAESKey, "wwSOMEONEELSE")
	if _, err := other.Decrypt(sampleEchoStr); !errors.Is(err, wecom.ErrReceiveID) {
		t.Fatalf("foreign receiveid: %v", err)
	}

	kc, err := wecom.NewCrypter("tok", kaAESKey, kaCorpID)
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := kc.Decrypt(kaCipher); err != nil || string(msg) != kaMsg {
		t.Fatalf("openssl vector: %q, %v", msg, err)
	}
	// The test-side encrypter produces the same bytes with the same prefix …
	cb := wecomtest.Callbacker{Token: "tok", EncodingAESKey: kaAESKey, CorpID: kaCorpID,
		Random: func() (r [16]byte) { copy(r[:], "0123456789abcdef"); return }}
	if enc, err := cb.Encrypt([]byte(kaMsg)); err != nil || enc != kaCipher {
		t.Fatalf("test encrypter: %q, %v; want %q", enc, err, kaCipher)
	}
	// … and the signature is sha1 over the sorted parts, computed here by hand:
	// "1700000000" < "42" < "4j/A…" < "tok" in byte order.
	sum := sha1.Sum([]byte("1700000000" + "42" + kaCipher + "tok"))
	want := hex.EncodeToString(sum[:])
	if got := kc.Signature("1700000000", "42", kaCipher); got != want || cb.Sign("1700000000", "42", kaCipher) != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	if !kc.Verify(strings.ToUpper(want), "1700000000", "42", kaCipher) || kc.Verify(want, "1700000001", "42", kaCipher) {
		t.Fatal("Verify: case-insensitive hex accepted, another timestamp rejected")
	}
	// Random round trips of all lengths around the 32-byte padding boundary.
	rt := wecomtest.Callbacker{Token: "tok", EncodingAESKey: kaAESKey, CorpID: kaCorpID}
	for n := range 100 {
		m := bytes.Repeat([]byte{'x'}, n)
		enc, err := rt.Encrypt(m)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := kc.Decrypt(enc); err != nil || !bytes.Equal(got, m) {
			t.Fatalf("round trip of %d bytes: %v", n, err)
		}
	}
}

func TestNewCrypterRejectsBadSettings(t *testing.T) {
	for _, c := range []struct{ tok, key, corp string }{
		{"", kaAESKey, "c"}, {"t", kaAESKey, ""}, {"t", kaAESKey[:42], "c"}, {"t", kaAESKey + "A", "c"},
		{"t", strings.Repeat("*", 43), "c"},
	} {
		if _, err := wecom.NewCrypter(c.tok, c.key, c.corp); err == nil {
			t.Errorf("NewCrypter(%q, %q, %q) accepted", c.tok, c.key, c.corp)
		}
	}
}

type recorder struct {
	mu  sync.Mutex
	evs []wecom.CallbackEvent
	err error
}

func (r *recorder) on(_ context.Context, ev wecom.CallbackEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return r.err
}

func (r *recorder) events() []wecom.CallbackEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wecom.CallbackEvent(nil), r.evs...)
}

func TestCallbackHandlerOverHTTP(t *testing.T) {
	const token, corp = "cbTOKEN", "wwCORP01"
	cr, err := wecom.NewCrypter(token, kaAESKey, corp)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	logs := &bytes.Buffer{}
	var logMu sync.Mutex
	lw := writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(p) })
	h, err := wecom.CallbackHandler(wecom.CallbackConfig{Crypter: cr, OnEvent: rec.on, Logger: slog.New(slog.NewTextHandler(lw, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	cb := wecomtest.Callbacker{Token: token, EncodingAESKey: kaAESKey, CorpID: corp}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(u string, body []byte) (int, string) {
		resp, err := http.Post(u, "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// URL verification: the answer is exactly the decrypted echostr.
	u, _ := cb.VerifyURL(srv.URL, "8761238192731")
	if code, body := get(u); code != 200 || body != "8761238192731" {
		t.Fatalf("url verification: %d %q", code, body)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	q.Set("msg_signature", strings.Repeat("0", 40))
	if code, body := get(srv.URL + "?" + q.Encode()); code != 403 || body != "bad signature" {
		t.Fatalf("url verification, bad signature: %d %q", code, body)
	}
	if code, _ := get(srv.URL + "?timestamp=1&nonce=2"); code != 400 {
		t.Fatalf("url verification without parameters: %d", code)
	}

	// An event arrives decrypted and parsed; WeCom gets "success".
	ev := wecomtest.ContactEvent(corp, wecom.ChangeAddExternalContact, "staff01", "wmSECRETEXT", "01JSTATE")
	eu, body, _ := cb.Event(srv.URL, ev)
	if code, b := post(eu, body); code != 200 || b != "success" {
		t.Fatalf("event: %d %q", code, b)
	}
	got := rec.events()
	if len(got) != 1 || got[0].Event != wecom.EventChangeExternalContact || got[0].ChangeType != wecom.ChangeAddExternalContact ||
		got[0].UserID != "staff01" || got[0].ExternalUserID != "wmSECRETEXT" || got[0].State != "01JSTATE" || got[0].MsgType != "event" {
		t.Fatalf("event parsed as %+v", got)
	}

	// Tampering: another body under the same signature, a bad signature, a foreign corp.
	_, other, _ := cb.Event(srv.URL, wecomtest.ContactEvent(corp, wecom.ChangeDelFollowUser, "staff01", "wmX", ""))
	if code, b := post(eu, other); code != 403 || b != "bad signature" {
		t.Fatalf("swapped body: %d %q", code, b)
	}
	foreign := wecomtest.Callbacker{Token: token, EncodingAESKey: kaAESKey, CorpID: "wwOTHER"}
	fu, fb, _ := foreign.Event(srv.URL, ev)
	if code, b := post(fu, fb); code != 403 || b != "not for this corp" {
		t.Fatalf("foreign receiveid: %d %q", code, b)
	}
	// A genuine event replayed two hours later is refused.
	enc, err := cb.Encrypt(ev)
	if err != nil {
		t.Fatal(err)
	}
	oldTS := strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10)
	ou := srv.URL + "?" + url.Values{"msg_signature": {cb.Sign(oldTS, "7", enc)}, "timestamp": {oldTS}, "nonce": {"7"}}.Encode()
	if code, b := post(ou, []byte("<xml><Encrypt>"+enc+"</Encrypt></xml>")); code != 403 || b != "stale timestamp" {
		t.Fatalf("replayed event: %d %q", code, b)
	}
	if code, _ := post(eu, []byte("not xml")); code != 400 {
		t.Fatalf("garbage body: %d", code)
	}
	big := append([]byte("<xml><Encrypt>"), bytes.Repeat([]byte("A"), wecom.MaxCallbackBody)...)
	if code, _ := post(eu, append(big, "</Encrypt></xml>"...)); code != 413 {
		t.Fatalf("oversized body: %d", code)
	}
	// Signed but not decryptable (a signature computed over garbage with the token).
	junk := "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0IGF0IGFsbCEhISE="
	ju := srv.URL + "?" + url.Values{"msg_signature": {cb.Sign("1", "2", junk)}, "timestamp": {"1"}, "nonce": {"2"}}.Encode()
	if code, _ := post(ju, []byte("<xml><Encrypt>"+junk+"</Encrypt></xml>")); code != 400 {
		t.Fatalf("undecryptable: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPut, eu, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Fatalf("PUT: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := len(rec.events()); n != 1 {
		t.Fatalf("rejected requests reached OnEvent: %d events", n)
	}
	// A failing handler makes WeCom retry (not "success").
	rec.err = errors.New("disk full")
	eu2, body2, _ := cb.Event(srv.URL, ev)
	if code, b := post(eu2, body2); code != 500 || b == "success" {
		t.Fatalf("handler error: %d %q", code, b)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), "wmSECRETEXT") {
		t.Fatalf("ExternalUserID logged: %s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// FuzzCallbackDecrypt: arbitrary Encrypt strings never panic, and what decrypts carries
// our receiveid (anything else is an error).
func FuzzCallbackDecrypt(f *testing.F) {
	c, err := wecom.NewCrypter("tok", kaAESKey, kaCorpID)
	if err != nil {
		f.Fatal(err)
	}
	cb := wecomtest.Callbacker{Token: "tok", EncodingAESKey: kaAESKey, CorpID: kaCorpID}
	for _, m := range []string{"", "x", kaMsg, strings.Repeat("y", 200)} {
		enc, _ := cb.Encrypt([]byte(m))
		f.Add(enc)
	}
	f.Add(kaCipher)
	f.Add("")
	f.Add("====")
	f.Add(strings.Repeat("A", 44))
	f.Add(sampleEchoStr)
	f.Fuzz(func(t *testing.T, enc string) {
		msg, err := c.Decrypt(enc)
		if err == nil && len(msg) > len(enc) {
			t.Fatalf("decrypted %d bytes from %d characters", len(msg), len(enc))
		}
		_ = c.Verify(enc, enc, enc, enc)
	})
}

package wecom

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WeCom's callback encryption (企业微信 回调 加解密), restated from the public docs:
//
//   - signature = hex(sha1(concat(sort([token, timestamp, nonce, encrypt])))), sent as
//     msg_signature; for the URL check (GET) encrypt is the echostr parameter, for events
//     (POST) the <Encrypt> element of the XML body.
//   - AES-256-CBC with key = base64-decode(EncodingAESKey + "=") (43 chars → 32 bytes),
//     IV = key[:16], PKCS#7 padding to a multiple of 32 bytes.
//   - plaintext = 16 random bytes ‖ 4-byte big-endian length of msg ‖ msg ‖ receiveid,
//     where receiveid is the corp id for an enterprise's own callbacks.

// Callback errors. The handler answers ErrSignature and ErrReceiveID with 403, anything
// else wrapping ErrCallback with 400.
const (
	ErrCallback  = sentinel("wecom callback: invalid message")
	ErrSignature = sentinel("wecom callback: invalid message: bad msg_signature")
	ErrReceiveID = sentinel("wecom callback: invalid message: receiveid is not our corp id")
)

// Crypter verifies and decrypts WeCom callbacks for one token, EncodingAESKey and
// receiveid (the corp id).
type Crypter struct {
	token     string
	key       []byte
	receiveID string
}

// NewCrypter checks the callback settings: token (non-empty), encodingAESKey (43
// characters of base64, 32 bytes once decoded) and receiveID (the corp id).
func NewCrypter(token, encodingAESKey, receiveID string) (*Crypter, error) {
	if token == "" || receiveID == "" {
		return nil, errors.New("wecom callback: token and corp id are required")
	}
	encodingAESKey = strings.TrimSpace(encodingAESKey)
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wecom callback: EncodingAESKey has %d characters, want 43", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wecom callback: EncodingAESKey is not 43 characters of base64")
	}
	return &Crypter{token: token, key: key, receiveID: receiveID}, nil
}

// Signature computes msg_signature over timestamp, nonce and the encrypted text.
func (c *Crypter) Signature(timestamp, nonce, encrypt string) string {
	parts := []string{c.token, timestamp, nonce, encrypt}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether sig is the msg_signature of timestamp, nonce and encrypt
// (constant-time comparison; hex case is ignored).
func (c *Crypter) Verify(sig, timestamp, nonce, encrypt string) bool {
	want := c.Signature(timestamp, nonce, encrypt)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(sig))) == 1
}

// Decrypt decrypts an Encrypt field (or echostr) and returns msg. It never panics on
// arbitrary input; a receiveid other than ours gives ErrReceiveID.
func (c *Crypter) Decrypt(encrypt string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: Encrypt is not base64", ErrCallback)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext length %d is not a positive multiple of %d", ErrCallback, len(ct), aes.BlockSize)
	}
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, fmt.Errorf("wecom callback: %w", err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, c.key[:aes.BlockSize]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > 32 || pad > len(pt) {
		return nil, fmt.Errorf("%w: bad padding", ErrCallback)
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: bad padding", ErrCallback)
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, fmt.Errorf("%w: plaintext too short", ErrCallback)
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	rest := pt[20:]
	if uint64(n) > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: message length %d exceeds the plaintext", ErrCallback, n)
	}
	msg, rid := rest[:n], rest[n:]
	if subtle.ConstantTimeCompare(rid, []byte(c.receiveID)) != 1 {
		return nil, ErrReceiveID
	}
	return msg, nil
}

// CallbackEvent is a decrypted WeCom event. For customer contact changes
// (Event "change_external_contact") ChangeType is e.g. "add_external_contact",
// "del_external_contact" (the staff member removed the customer) or "del_follow_user"
// (the customer removed the staff member); State is the customer_channel / state of the
// link or QR code the customer used. ExternalUserID identifies the customer at WeCom:
// never log it.
type CallbackEvent struct {
	ToUserName     string `xml:"ToUserName"`
	FromUserName   string `xml:"FromUserName"`
	CreateTime     int64  `xml:"CreateTime"`
	MsgType        string `xml:"MsgType"`
	Event          string `xml:"Event"`
	ChangeType     string `xml:"ChangeType"`
	UserID         string `xml:"UserID"`
	ExternalUserID string `xml:"ExternalUserID"`
	State          string `xml:"State"`
	WelcomeCode    string `xml:"WelcomeCode"`
}

// Customer-contact event names.
const (
	EventChangeExternalContact = "change_external_contact"
	ChangeAddExternalContact   = "add_external_contact"
	ChangeDelExternalContact   = "del_external_contact"
	ChangeDelFollowUser        = "del_follow_user"
)

// MaxCallbackBody caps a callback POST body (413 above it).
const MaxCallbackBody = 64 << 10

// CallbackConfig configures the callback handler.
type CallbackConfig struct {
	Crypter *Crypter
	// OnEvent handles a verified, decrypted event. An error makes the handler answer
	// 500 so that WeCom retries; return nil for events that are merely ignored.
	OnEvent func(ctx context.Context, ev CallbackEvent) error
	Logger  *slog.Logger
	// MaxSkew: an event whose signed timestamp is further than this from now is refused
	// (403), so a captured request cannot be replayed later. Default 1 h (WeCom retries
	// within seconds); negative: no check.
	MaxSkew time.Duration
	Now     func() time.Time // default time.Now
	// Nonces remembers each event's nonce (with its timestamp and signature) for the
	// skew window, so a captured event replayed within it is refused (409); the HQ store
	// (shared by replicas) in production. Nil: remembered in this process only.
	Nonces Nonces
}

// Nonces is what the callback needs to refuse replays (hq.NonceStore).
type Nonces interface {
	ClaimNonce(ctx context.Context, key string, now, until time.Time) (bool, error)
	ReleaseNonce(ctx context.Context, key string) error
}

// memNonces is the in-process Nonces of a handler without a store.
type memNonces struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (n *memNonces) ClaimNonce(_ context.Context, key string, now, until time.Time) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, u := range n.m {
		if !u.After(now) {
			delete(n.m, k)
		}
	}
	if u, ok := n.m[key]; ok && u.After(now) {
		return false, nil
	}
	n.m[key] = until
	return true, nil
}

func (n *memNonces) ReleaseNonce(_ context.Context, key string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.m, key)
	return nil
}

// CallbackHandler serves WeCom's callback URL: GET (URL verification: msg_signature
// over echostr, answered with the decrypted echostr) and POST (events: msg_signature
// over <Encrypt>, decrypted, parsed and passed to OnEvent; answered "success"). Bad
// signatures and a foreign receiveid get 403, malformed requests 400, bodies over
// 64 KiB 413. It logs no ExternalUserID.
func CallbackHandler(cfg CallbackConfig) (http.Handler, error) {
	if cfg.Crypter == nil || cfg.OnEvent == nil {
		return nil, errors.New("wecom callback: Crypter and OnEvent are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Nonces == nil {
		cfg.Nonces = &memNonces{m: map[string]time.Time{}}
	}
	return &callbackHandler{cfg: cfg}, nil
}

type callbackHandler struct{ cfg CallbackConfig }

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (h *callbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	switch r.Method {
	case http.MethodGet:
		echo := q.Get("echostr")
		if sig == "" || ts == "" || nonce == "" || echo == "" {
			plain(w, http.StatusBadRequest, "missing msg_signature, timestamp, nonce or echostr")
			return
		}
		msg, err := h.open(sig, ts, nonce, echo)
		if err != nil {
			h.reject(w, "url verification", err)
			return
		}
		plain(w, http.StatusOK, string(msg)) // exactly the plaintext: no quotes, no newline
	case http.MethodPost:
		if sig == "" || ts == "" || nonce == "" {
			plain(w, http.StatusBadRequest, "missing msg_signature, timestamp or nonce")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCallbackBody))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			plain(w, http.StatusRequestEntityTooLarge, "body over 64 KiB")
			return
		}
		if err != nil {
			plain(w, http.StatusBadRequest, "cannot read body")
			return
		}
		var env struct {
			ToUserName string `xml:"ToUserName"`
			Encrypt    string `xml:"Encrypt"`
			AgentID    string `xml:"AgentID"`
		}
		if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
			plain(w, http.StatusBadRequest, "body: want <xml><Encrypt>…</Encrypt></xml>")
			return
		}
		msg, err := h.open(sig, ts, nonce, env.Encrypt)
		if err != nil {
			h.reject(w, "event", err)
			return
		}
		if err := h.fresh(ts); err != nil {
			h.reject(w, "event", err)
			return
		}
		var ev CallbackEvent
		if err := xml.Unmarshal(msg, &ev); err != nil {
			h.cfg.Logger.Warn("wecom callback: undecodable event", "err", err)
			plain(w, http.StatusBadRequest, "decrypted event is not XML")
			return
		}
		// The signature covers the timestamp, the nonce and the message: a replay of a
		// captured request within the skew window carries the same, and is refused.
		key := "wecom-callback:" + strings.ToLower(sig)
		now := h.cfg.Now()
		claimed, err := h.cfg.Nonces.ClaimNonce(r.Context(), key, now, now.Add(h.window()))
		if err != nil {
			h.cfg.Logger.Error("wecom callback: nonce", "err", err)
			plain(w, http.StatusServiceUnavailable, "try again")
			return
		}
		if !claimed {
			h.cfg.Logger.Warn("wecom callback rejected: replayed message", "nonce", nonce)
			plain(w, http.StatusConflict, "replayed message")
			return
		}
		if err := h.cfg.OnEvent(r.Context(), ev); err != nil {
			h.cfg.Logger.Error("wecom callback: handling event", "event", ev.Event, "change", ev.ChangeType, "err", err)
			if rerr := h.cfg.Nonces.ReleaseNonce(context.WithoutCancel(r.Context()), key); rerr != nil {
				h.cfg.Logger.Error("wecom callback: release nonce", "err", rerr)
			}
			plain(w, http.StatusInternalServerError, "event not processed; retry")
			return
		}
		plain(w, http.StatusOK, "success")
	default:
		w.Header().Set("Allow", "GET, POST")
		plain(w, http.StatusMethodNotAllowed, "GET or POST")
	}
}

// open verifies the signature and decrypts.
func (h *callbackHandler) open(sig, ts, nonce, encrypt string) ([]byte, error) {
	if !h.cfg.Crypter.Verify(sig, ts, nonce, encrypt) {
		return nil, ErrSignature
	}
	return h.cfg.Crypter.Decrypt(encrypt)
}

func (h *callbackHandler) reject(w http.ResponseWriter, what string, err error) {
	h.cfg.Logger.Warn("wecom callback rejected", "what", what, "err", err)
	switch {
	case errors.Is(err, ErrSignature):
		plain(w, http.StatusForbidden, "bad signature")
	case errors.Is(err, ErrReceiveID):
		plain(w, http.StatusForbidden, "not for this corp")
	case errors.Is(err, ErrStale):
		plain(w, http.StatusForbidden, "stale timestamp")
	default:
		plain(w, http.StatusBadRequest, "cannot decrypt")
	}
}

// ErrStale: an event's signed timestamp is too far from now (a replayed request).
const ErrStale = sentinel("stale callback timestamp")

// window is how long a nonce is remembered: the skew window on both sides of its
// timestamp (a day when the timestamp is not checked).
func (h *callbackHandler) window() time.Duration {
	if h.cfg.MaxSkew < 0 {
		return 24 * time.Hour
	}
	return 2 * h.cfg.MaxSkew
}

// fresh checks the (already signature-verified) timestamp against MaxSkew.
func (h *callbackHandler) fresh(ts string) error {
	if h.cfg.MaxSkew < 0 {
		return nil
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not a number", ErrStale, ts)
	}
	if d := h.cfg.Now().Sub(time.Unix(sec, 0)); d > h.cfg.MaxSkew || d < -h.cfg.MaxSkew {
		return fmt.Errorf("%w: %s from now (replay?)", ErrStale, d.Round(time.Second))
	}
	return nil
}

package hqclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/wire"
)

// MaxContentBytes bounds a content pack document (the embedded pack is about 60 KB).
const MaxContentBytes = 8 << 20

// ContentAnswer is HQ's answer to a content pull: the store's assigned pack, or that
// it is one the kiosk already has (NotModified: HQ answered 304 to If-None-Match).
type ContentAnswer struct {
	NotModified bool
	ETag        string // the document's entity tag (HQ's ETag header)
	// Body is the document as received, not yet checked: Doc decodes it (the kiosk
	// checks its hash and validates it before it uses it, and keeps it as received).
	Body []byte
}

// Doc decodes the answer's document. It checks neither hash nor content (content.Doc.Pack
// and Validate do).
func (a ContentAnswer) Doc() (content.Doc, error) {
	var d content.Doc
	if err := json.Unmarshal(a.Body, &d); err != nil {
		return content.Doc{}, fmt.Errorf("content document not understood: %w", err)
	}
	return d, nil
}

// Content fetches the content pack HQ assigns to the store (GET /api/v1/content) within
// EffectTimeout (a pack is larger than a history, and the kiosk pulls it in the
// background). notMatch are the entity tags of packs the kiosk already has or refused
// for good: HQ answers 304 when the assigned pack is one of them.
func (c *Client) Content(ctx context.Context, notMatch ...string) (ContentAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, EffectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+wire.PathContent, nil)
	if err != nil {
		return ContentAnswer{}, fmt.Errorf("hq request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	var tags []string
	for _, t := range notMatch {
		if t != "" {
			tags = append(tags, t)
		}
	}
	if len(tags) > 0 {
		req.Header.Set("If-None-Match", strings.Join(tags, ", "))
	}
	resp, err := c.slow.Do(req)
	if err != nil {
		return ContentAnswer{}, fmt.Errorf("%w: GET %s: %w", errOffline, wire.PathContent, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxContentBytes+1))
	if err != nil {
		return ContentAnswer{}, fmt.Errorf("%w: GET %s: read: %w", errOffline, wire.PathContent, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return ContentAnswer{NotModified: true, ETag: resp.Header.Get("ETag")}, nil
	case resp.StatusCode != http.StatusOK:
		return ContentAnswer{}, answerError(http.MethodGet, wire.PathContent, resp.StatusCode, body)
	case len(body) > MaxContentBytes:
		return ContentAnswer{}, fmt.Errorf("GET %s: the content document is larger than %d bytes", wire.PathContent, MaxContentBytes)
	}
	return ContentAnswer{ETag: resp.Header.Get("ETag"), Body: body}, nil
}

// ReportContent tells HQ which content version the kiosk runs and which assigned pack
// it refuses, if any (POST /api/v1/content/status).
func (c *Client) ReportContent(ctx context.Context, r wire.ContentStatusRequest) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("content status: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, EffectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+wire.PathContentStatus, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("hq request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.slow.Do(req)
	if err != nil {
		return fmt.Errorf("%w: POST %s: %w", errOffline, wire.PathContentStatus, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return answerError(http.MethodPost, wire.PathContentStatus, resp.StatusCode, body)
	}
	return nil
}

// answerError is an HQ answer other than success: offline for 5xx, 408 and 429 (retry
// later), else an *Error.
func answerError(method, path string, status int, body []byte) error {
	var e wire.ErrorResponse
	_ = json.Unmarshal(body, &e)
	herr := &Error{Status: status, Msg: e.Error}
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return fmt.Errorf("%w: %s %s: %w", errOffline, method, path, herr)
	}
	return fmt.Errorf("%s %s: %w", method, path, herr)
}

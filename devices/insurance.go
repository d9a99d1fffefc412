package devices

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pharmachain/counter/flows/customerkey"
)

// ErrInsuranceUnresolved is the user-facing error for an insurance QR code that could not be
// resolved; every resolution failure wraps it.
const ErrInsuranceUnresolved = sentinel("医保凭证无法识别，请刷卡或手工输入")

// DefaultInsuranceTimeout is the default timeout of an insurance gateway call.
const DefaultInsuranceTimeout = 800 * time.Millisecond

// InsuranceResolver resolves an insurance QR token to the insured person's ID number and name
// (the name is for display only). Implementations must not store or log the token or the ID.
type InsuranceResolver interface {
	Resolve(ctx context.Context, token string) (idNumber, name string, err error)
}

// HTTPResolver asks the store's insurance gateway: POST {"token":…} → {"id_number":…,"name":…}.
type HTTPResolver struct {
	url     string
	timeout time.Duration
	client  *http.Client
}

// NewHTTPResolver returns a resolver posting to url. timeout ≤ 0 means
// DefaultInsuranceTimeout; client nil means a new http.Client.
func NewHTTPResolver(url string, timeout time.Duration, client *http.Client) *HTTPResolver {
	if timeout <= 0 {
		timeout = DefaultInsuranceTimeout
	}
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	return &HTTPResolver{url: url, timeout: timeout, client: client}
}

type resolveRequest struct {
	Token string `json:"token"`
}

type resolveResponse struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
	Error    string `json:"error,omitempty"`
}

// Resolve implements InsuranceResolver. Errors wrap ErrInsuranceUnresolved and never contain
// the token or an ID number.
func (r *HTTPResolver) Resolve(ctx context.Context, token string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	body, err := json.Marshal(resolveRequest{Token: token})
	if err != nil {
		return "", "", fmt.Errorf("%w: encode request: %v", ErrInsuranceUnresolved, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return "", "", fmt.Errorf("%w: gateway request: %v", ErrInsuranceUnresolved, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", "", fmt.Errorf("%w: gateway did not answer within %v", ErrInsuranceUnresolved, r.timeout)
		}
		return "", "", fmt.Errorf("%w: gateway unreachable", ErrInsuranceUnresolved)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", "", fmt.Errorf("%w: reading gateway answer: %v", ErrInsuranceUnresolved, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("%w: gateway answered HTTP %d", ErrInsuranceUnresolved, resp.StatusCode)
	}
	var out resolveResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return "", "", fmt.Errorf("%w: gateway answer is not valid JSON", ErrInsuranceUnresolved)
	}
	if out.IDNumber == "" {
		return "", "", fmt.Errorf("%w: gateway answer has no id_number", ErrInsuranceUnresolved)
	}
	return out.IDNumber, out.Name, nil
}

// ResolveInsurance turns a valid insurance_qr scan into an id_number scan (customer key and
// masked form) through r, and returns the insured person's name for display. The token and
// the raw ID number live only for the duration of the call. Errors wrap
// ErrInsuranceUnresolved.
func (c *Classifier) ResolveInsurance(ctx context.Context, s Scan, r InsuranceResolver) (Scan, string, error) {
	if s.Kind != KindInsuranceQR || !s.HasToken() {
		return s, "", fmt.Errorf("%w: %w (got %s)", ErrInsuranceUnresolved, ErrClassify, s.Kind)
	}
	if r == nil {
		return s, "", fmt.Errorf("%w: no insurance gateway configured", ErrInsuranceUnresolved)
	}
	id, name, err := r.Resolve(ctx, s.token.v)
	if err != nil {
		if errors.Is(err, ErrInsuranceUnresolved) {
			return s, "", err
		}
		return s, "", fmt.Errorf("%w: %w", ErrInsuranceUnresolved, err)
	}
	norm, err := NormaliseIDNumber(id, c.now())
	if err != nil {
		return s, "", fmt.Errorf("%w: gateway returned an invalid ID number: %w", ErrInsuranceUnresolved, err)
	}
	if len(c.Secret) == 0 {
		return s, "", fmt.Errorf("%w: no chain secret configured", ErrInsuranceUnresolved)
	}
	out := Scan{
		Kind:        KindIDNumber,
		Valid:       true,
		Symbology:   s.Symbology,
		AIM:         s.AIM,
		Masked:      customerkey.Mask(norm),
		CustomerKey: customerkey.Hash(c.Secret, norm).String(),
		At:          s.At,
	}
	return out, name, nil
}

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
)

// ErrInsuranceUnresolved is the user-facing error for an insurance QR code that could not be
// resolved; every resolution failure wraps it.
var ErrInsuranceUnresolved = errors.New("医保凭证无法识别，请刷卡或手工输入")

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
		Masked:      MaskID(norm),
		CustomerKey: CustomerKey(c.Secret, norm),
		At:          s.At,
	}
	return out, name, nil
}

// DemoGatewayHandler is a stand-in for a store's insurance gateway, mounted by the demo HQ:
// POST {"token":…} answers {"id_number":…,"name":…} from ids (token → ID number) and names
// (ID number or token → name). Unknown tokens get 404, malformed requests 400.
func DemoGatewayHandler(ids map[string]string, names map[string]string) http.Handler {
	// Copy so that later changes by the caller cannot race with requests.
	idc := make(map[string]string, len(ids))
	for k, v := range ids {
		idc[k] = v
	}
	nc := make(map[string]string, len(names))
	for k, v := range names {
		nc[k] = v
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if req.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			_ = json.NewEncoder(w).Encode(resolveResponse{Error: "use POST"})
			return
		}
		var in resolveRequest
		if err := json.NewDecoder(io.LimitReader(req.Body, 16<<10)).Decode(&in); err != nil || in.Token == "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(resolveResponse{Error: `expected {"token":"…"}`})
			return
		}
		id, ok := idc[in.Token]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(resolveResponse{Error: "unknown or expired token"})
			return
		}
		name := nc[id]
		if name == "" {
			name = nc[in.Token]
		}
		_ = json.NewEncoder(w).Encode(resolveResponse{IDNumber: id, Name: name})
	})
}

// DemoInsuranceData returns demo tokens (token → ID number) and names (ID number → name) for
// DemoGatewayHandler in `make run`. The ID numbers are the public GB 11643 examples; the tokens
// match DefaultInsurancePattern.
func DemoInsuranceData() (ids, names map[string]string) {
	ids = map[string]string{
		"YBDEMO0000000000000001": "11010519491231002X",
		"YBDEMO0000000000000002": "440524188001010014",
		"YBDEMO0000000000000003": "34052419800101001X",
		"YBDEMO0000000000000004": "513101198201130014",
	}
	names = map[string]string{
		"11010519491231002X": "张三",
		"440524188001010014": "李四",
		"34052419800101001X": "王五",
		"513101198201130014": "赵六",
	}
	return ids, names
}

package devices

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pharmachain/counter/devices/demogateway"
	"github.com/pharmachain/counter/flows/customerkey"
)

const demoToken = "YBdemo0123456789abcdef"

func demoGateway(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(demogateway.Handler(
		map[string]string{demoToken: "11010519491231002X", "YBbadid0123456789abcdef": "110105194912310021"},
		map[string]string{"11010519491231002X": "张三"}))
	t.Cleanup(srv.Close)
	return srv
}

func TestResolveInsuranceOverHTTP(t *testing.T) {
	srv := demoGateway(t)
	c := testClassifier()
	res := NewHTTPResolver(srv.URL, 0, nil)
	scan := c.Classify(frameOf("]Q1" + demoToken))
	if scan.Kind != KindInsuranceQR {
		t.Fatalf("setup: %v", scan)
	}
	got, name, err := c.ResolveInsurance(context.Background(), scan, res)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != KindIDNumber || !got.Valid || got.CustomerKey != customerkey.Hash(testSecret, "11010519491231002X").String() ||
		got.Masked != "1101**********002X" || name != "张三" || got.HasToken() || got.Symbology != "QR" {
		t.Errorf("resolved = %v name %q", got, name)
	}
}

func TestResolveInsuranceErrors(t *testing.T) {
	srv := demoGateway(t)
	c := testClassifier()
	scan := func(tok string) Scan { return c.Classify(frameOf(tok)) }
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }))
	defer junk.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	for _, tc := range []struct {
		name string
		s    Scan
		r    InsuranceResolver
		has  string
	}{
		{"unknown token", scan("YBunknown0123456789abcd"), NewHTTPResolver(srv.URL, 0, nil), "HTTP 404"},
		{"gateway returns a bad ID", scan("YBbadid0123456789abcdef"), NewHTTPResolver(srv.URL, 0, nil), "invalid ID number"},
		{"timeout", scan(demoToken), NewHTTPResolver(slow.URL, 100*time.Millisecond, nil), "did not answer within 100ms"},
		{"not JSON", scan(demoToken), NewHTTPResolver(junk.URL, 0, nil), "not valid JSON"},
		{"gateway down", scan(demoToken), NewHTTPResolver(downURL, 0, nil), "unreachable"},
		{"not insurance", scan("6901234567892"), NewHTTPResolver(srv.URL, 0, nil), "expected kind"},
		{"no resolver", scan(demoToken), nil, "no insurance gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := c.ResolveInsurance(context.Background(), tc.s, tc.r)
			if err == nil || !errors.Is(err, ErrInsuranceUnresolved) || !strings.Contains(err.Error(), tc.has) {
				t.Fatalf("err = %v, want ErrInsuranceUnresolved containing %q", err, tc.has)
			}
			if !strings.HasPrefix(err.Error(), "医保凭证无法识别，请刷卡或手工输入") {
				t.Errorf("user-facing text missing: %v", err)
			}
			for _, secret := range []string{demoToken, "11010519491231002X", "110105194912310021", "YBunknown"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks %q: %v", secret, err)
				}
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	// Default timeout is 800 ms.
	if r := NewHTTPResolver("http://x", 0, nil); r.timeout != 800*time.Millisecond || r.client.Timeout != 800*time.Millisecond {
		t.Errorf("default timeout %v", r.timeout)
	}
}

func TestGatewayHandler(t *testing.T) {
	srv := demoGateway(t)
	post := func(body string) (int, string) {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"token":"` + demoToken + `"}`); code != 200 || !strings.Contains(body, `"id_number":"11010519491231002X"`) || !strings.Contains(body, `"name":"张三"`) {
		t.Errorf("known token: %d %s", code, body)
	}
	if code, _ := post(`{"token":""}`); code != 400 {
		t.Errorf("empty token: %d", code)
	}
	if code, _ := post(`not json`); code != 400 {
		t.Errorf("bad json: %d", code)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestDemoInsuranceData(t *testing.T) {
	ids, names := demogateway.Data()
	srv := httptest.NewServer(demogateway.Handler(ids, names))
	defer srv.Close()
	c := testClassifier()
	r := NewHTTPResolver(srv.URL, 0, srv.Client())
	for tok, id := range ids {
		s := c.Classify(frameOf(tok))
		if s.Kind != KindInsuranceQR {
			t.Fatalf("demo token does not match the default pattern: %v", s)
		}
		got, name, err := c.ResolveInsurance(context.Background(), s, r)
		if err != nil || got.CustomerKey != customerkey.Hash(testSecret, id).String() || name != names[id] {
			t.Errorf("demo token: %v %q %v", got, name, err)
		}
	}
}

package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestAddr(t *testing.T) {
	r, err := Parse("10.0.0.0/8, 127.0.0.1 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client, no header", "203.0.113.7:4444", nil, "203.0.113.7"},
		{"direct client forging the header", "203.0.113.7:4444", []string{"198.51.100.1"}, "203.0.113.7"},
		{"behind the proxy", "127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"behind the proxy, client forged a hop", "127.0.0.1:5000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "10.0.0.2:5000", []string{"198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"header in two lines", "10.0.0.2:5000", []string{"198.51.100.1", "10.0.0.9"}, "198.51.100.1"},
		{"garbage stops at the last good hop", "127.0.0.1:5000", []string{"198.51.100.1, junk, 10.0.0.9"}, "10.0.0.9"},
		{"proxy without a header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"IPv6 proxy", "[::1]:5000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:5000", []string{"198.51.100.1"}, "198.51.100.1"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.peer
		for _, v := range c.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := r.Addr(req); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	// The zero Resolver trusts nobody.
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "127.0.0.1:1"
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := (Resolver{}).Addr(req); got != "127.0.0.1" {
		t.Errorf("zero resolver: %s", got)
	}
	if _, err := Parse("10.0.0.0/33"); err == nil {
		t.Error("bad CIDR accepted")
	}
	if _, err := Parse("nginx"); err == nil {
		t.Error("a name accepted")
	}
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9": "2001:db8:1:2::/64",
		"::ffff:198.51.100.1":  "198.51.100.1",
		"not an address":       "not an address",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

package web

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := NewProxies([]netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8::/32"),
	})
	tests := []struct {
		name    string
		proxies Proxies
		remote  string
		xff     []string // one X-Forwarded-For header each
		want    string
	}{
		{"no proxy, no header", proxies, "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted peer's header is ignored", proxies, "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"nothing trusted ignores the header", Proxies{}, "127.0.0.1:5555", []string{"198.51.100.1"}, "127.0.0.1"},
		{"one trusted proxy", proxies, "127.0.0.1:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client's forged hops on the left are not believed", proxies, "127.0.0.1:5555",
			[]string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", proxies, "127.0.0.1:5555",
			[]string{"6.6.6.6, 198.51.100.1, 10.1.1.1", "10.2.2.2"}, "198.51.100.1"},
		{"only trusted hops gives the left-most", proxies, "127.0.0.1:5555", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1"},
		{"trusted peer without header", proxies, "127.0.0.1:5555", nil, "127.0.0.1"},
		{"garbage hop stops at the proxy that passed it", proxies, "127.0.0.1:5555",
			[]string{"198.51.100.1, not-an-ip, 10.1.1.1"}, "10.1.1.1"},
		{"empty hop stops the walk", proxies, "127.0.0.1:5555", []string{"198.51.100.1, "}, "127.0.0.1"},
		{"hop with port", proxies, "127.0.0.1:5555", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 peer and hop", proxies, "[2001:db8::5]:443", []string{"[2001:db8:ffff::1]:80, 2a00::1"}, "2a00::1"},
		{"IPv6 hop in brackets", proxies, "[2001:db8::5]:443", []string{"[2a00::2]"}, "2a00::2"},
		{"IPv4-mapped peer counts as IPv4", proxies, "[::ffff:127.0.0.1]:5555", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
		{"not an address", proxies, "pipe", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, h := range tt.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := tt.proxies.ClientAddr(r); got != tt.want {
				t.Errorf("ClientAddr = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsHTTPS(t *testing.T) {
	proxies := NewProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	tests := []struct {
		name   string
		remote string
		proto  []string
		tls    bool
		want   bool
	}{
		{"plain", "203.0.113.7:1", nil, false, false},
		{"own TLS", "203.0.113.7:1", nil, true, true},
		{"trusted proxy says https", "127.0.0.1:1", []string{"https"}, false, true},
		{"trusted proxy says http", "127.0.0.1:1", []string{"http"}, false, false},
		{"client's forged value before the proxy's", "127.0.0.1:1", []string{"https, http"}, false, false},
		{"last header wins", "127.0.0.1:1", []string{"http", "HTTPS"}, false, true},
		{"untrusted peer", "203.0.113.7:1", []string{"https"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := proxies.IsHTTPS(r); got != tt.want {
				t.Errorf("IsHTTPS = %v, want %v", got, tt.want)
			}
		})
	}
}

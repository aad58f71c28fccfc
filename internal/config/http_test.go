package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestHTTPSection(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "conf/mtm.toml", `[http]
tls_cert_file = "tls/cert.pem"
tls_key_file = "/etc/ssl/private/mtm.key"
trusted_proxies = ["127.0.0.1", "10.1.2.3/8", "::ffff:192.168.1.1", "2001:db8::/32"]
`, 0o644)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "conf", "tls", "cert.pem"); c.HTTP.TLSCertFile != want {
		t.Errorf("tls_cert_file = %q, want %q (relative to the file)", c.HTTP.TLSCertFile, want)
	}
	if c.HTTP.TLSKeyFile != "/etc/ssl/private/mtm.key" || !c.HTTP.TLS() {
		t.Errorf("tls_key_file = %q, TLS() = %v", c.HTTP.TLSKeyFile, c.HTTP.TLS())
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.1/32"), netip.MustParsePrefix("2001:db8::/32"),
	}
	if !reflect.DeepEqual(c.HTTP.Proxies, want) {
		t.Errorf("Proxies = %v, want %v", c.HTTP.Proxies, want)
	}
}

func TestHTTPSectionFromEnv(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		value string
		want  []netip.Prefix
	}{
		{"", nil},
		{"127.0.0.1", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		{" 127.0.0.1 , ::1,", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := Load(os.DevNull, []string{"MTM_HTTP_TRUSTED_PROXIES=" + tt.value})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.HTTP.Proxies, tt.want) {
				t.Errorf("Proxies = %v, want %v", c.HTTP.Proxies, tt.want)
			}
		})
	}
	_, err := Load(os.DevNull, []string{"MTM_HTTP_TRUSTED_PROXIES=127.0.0.1,nope", "MTM_HTTP_TLS_KEY_FILE=k.pem"})
	checkErr(t, err, []string{`http.trusted_proxies (MTM_HTTP_TRUSTED_PROXIES): "nope" is not an IP address`,
		"http.tls_cert_file: is empty but http.tls_key_file (MTM_HTTP_TLS_KEY_FILE) is set"})
}

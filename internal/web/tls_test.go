package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mtm/internal/clock"
)

// writeCert writes a fresh self-signed certificate for 127.0.0.1 with the
// given serial to certFile and keyFile, stamped with mtime, and returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64, mtime time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "mtm test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, certFile, "CERTIFICATE", der, mtime)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER, mtime)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func writePEM(t *testing.T, path, typ string, der []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// serveTLS serves "hello" over HTTPS with cfg on a loopback port and
// returns its URL.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: cfg, ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) })}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	return "https://" + ln.Addr().String() + "/"
}

// servedSerial connects anew (trusting only roots) and returns the serial
// of the certificate the server presents.
func servedSerial(t *testing.T, url string, roots ...*x509.Certificate) int64 {
	t.Helper()
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("TLS state %+v", resp.TLS)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

func TestTLSConfigReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	certA := writeCert(t, certFile, keyFile, 1, t0)
	clk := clock.NewFake(t0)
	cfg, err := TLSConfig(certFile, keyFile, TLSOptions{Clock: clk, CheckEvery: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	url := serveTLS(t, cfg)
	if got := servedSerial(t, url, certA); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}

	certB := writeCert(t, certFile, keyFile, 2, t0.Add(time.Hour)) // renewed
	if got := servedSerial(t, url, certA, certB); got != 1 {
		t.Errorf("serial %d right after the renewal, want 1: files are looked at once a minute", got)
	}
	clk.Advance(61 * time.Second)
	if got := servedSerial(t, url, certA, certB); got != 2 {
		t.Errorf("serial %d a minute after the renewal, want 2", got)
	}

	// A renewal caught halfway: the old pair stays until the files load.
	writePEM(t, certFile, "CERTIFICATE", []byte("garbage"), t0.Add(2*time.Hour))
	clk.Advance(61 * time.Second)
	if got := servedSerial(t, url, certA, certB); got != 2 {
		t.Errorf("serial %d with a broken file, want 2 (the previous one)", got)
	}
	certC := writeCert(t, certFile, keyFile, 3, t0.Add(3*time.Hour))
	clk.Advance(61 * time.Second)
	if got := servedSerial(t, url, certC); got != 3 {
		t.Errorf("serial %d once the files load again, want 3", got)
	}
}

func TestTLSConfigRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err := TLSConfig(certFile, keyFile, TLSOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing files: err = %v, want not-exist", err)
	}
	writeCert(t, certFile, keyFile, 1, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	otherKey := filepath.Join(dir, "other-key.pem")
	writeCert(t, filepath.Join(dir, "other.pem"), otherKey, 2, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	if _, err := TLSConfig(certFile, otherKey, TLSOptions{}); err == nil {
		t.Error("a key that does not match the certificate was accepted")
	}
}

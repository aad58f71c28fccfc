package web

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"mtm/internal/clock"
)

// TLSOptions configure TLSConfig; every field may be left zero.
type TLSOptions struct {
	Clock clock.Clock // default the system clock
	// CheckEvery is how often, at most, a handshake looks whether the
	// files changed; default 1 minute.
	CheckEvery time.Duration
	Logger     *slog.Logger // reports reloads and reload failures
}

// TLSConfig returns the TLS configuration of a server that serves HTTPS
// with the PEM certificate chain certFile and private key keyFile
// (http.tls_cert_file, http.tls_key_file): TLS 1.2 at least, HTTP/2 and
// HTTP/1.1 offered. It fails when the pair cannot be loaded. Afterwards,
// a handshake that comes at least CheckEvery after the last look checks
// the files' modification times and loads them again when they changed;
// a pair that no longer loads (a renewal caught halfway) is logged and the
// previous certificate is kept until the files load again.
func TLSConfig(certFile, keyFile string, opts TLSOptions) (*tls.Config, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	kp := &keyPair{certFile: certFile, keyFile: keyFile, opts: opts}
	if err := kp.load(); err != nil {
		return nil, err
	}
	kp.checked = opts.Clock.Now()
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: kp.get,
	}, nil
}

// keyPair is the served certificate and where it comes from.
type keyPair struct {
	certFile, keyFile string
	opts              TLSOptions

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]time.Time // modification times of the loaded files
	checked time.Time    // last look at the files
}

// load reads the pair and remembers its files' modification times.
func (k *keyPair) load() error {
	stamp, err := k.modTimes()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("loading TLS certificate %s and key %s: %w", k.certFile, k.keyFile, err)
	}
	k.cert, k.stamp = &cert, stamp
	return nil
}

func (k *keyPair) modTimes() ([2]time.Time, error) {
	var out [2]time.Time
	for i, p := range []string{k.certFile, k.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return out, fmt.Errorf("TLS file: %w", err)
		}
		out[i] = fi.ModTime()
	}
	return out, nil
}

// get is tls.Config.GetCertificate.
func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.opts.Clock.Now()
	if now.Sub(k.checked) < k.opts.CheckEvery {
		return k.cert, nil
	}
	k.checked = now
	stamp, err := k.modTimes()
	if err == nil && stamp == k.stamp {
		return k.cert, nil
	}
	if err == nil {
		err = k.load()
	}
	if err != nil {
		k.opts.Logger.Error("TLS certificate not reloaded; serving the previous one", "err", err)
		return k.cert, nil
	}
	k.opts.Logger.Info("TLS certificate reloaded", "cert", k.certFile)
	return k.cert, nil
}

package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// ErrBadCredentials: the server refused the login. Callers must not tell
// the user more than that.
var ErrBadCredentials = errors.New("invalid email or password")

// IMAPVerifier checks an account's own credentials with a LOGIN on the IMAP
// server, then logs out. It never uses a master user.
type IMAPVerifier struct {
	Address            string // host:port
	TLS                string // "none", "starttls" or "tls"
	InsecureSkipVerify bool
	Timeout            time.Duration
}

// Verify returns nil when the server accepts address and password,
// ErrBadCredentials when it refuses them, and another error when it cannot
// be asked.
func (v IMAPVerifier) Verify(ctx context.Context, address, password string) error {
	c, err := v.dial()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	defer c.Close() //nolint:errcheck // closing after LOGOUT, or after a failure already reported
	if v.Timeout > 0 {
		deadline := time.AfterFunc(v.Timeout, func() { _ = c.Close() })
		defer deadline.Stop()
	}
	if err := c.WaitGreeting(); err != nil {
		return fmt.Errorf("imap server %s greeting: %w", v.Address, err)
	}
	if err := c.Login(address, password).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return ErrBadCredentials
		}
		return fmt.Errorf("imap login at %s: %w", v.Address, err)
	}
	if err := c.Logout().Wait(); err != nil {
		return fmt.Errorf("imap logout at %s: %w", v.Address, err)
	}
	return nil
}

func (v IMAPVerifier) dial() (*imapclient.Client, error) {
	timeout := v.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	opts := &imapclient.Options{Dialer: &net.Dialer{Timeout: timeout}}
	if v.TLS != "none" && v.TLS != "" {
		host, _, err := net.SplitHostPort(v.Address)
		if err != nil {
			return nil, fmt.Errorf("imap address %q: %w", v.Address, err)
		}
		opts.TLSConfig = &tls.Config{ServerName: host, InsecureSkipVerify: v.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	}
	var c *imapclient.Client
	var err error
	switch v.TLS {
	case "none", "":
		c, err = imapclient.DialInsecure(v.Address, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(v.Address, opts)
	case "tls":
		c, err = imapclient.DialTLS(v.Address, opts)
	default:
		return nil, fmt.Errorf("unknown imap tls mode %q", v.TLS)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to imap server %s: %w", v.Address, err)
	}
	return c, nil
}

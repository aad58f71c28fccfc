package imapconn

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// ErrBadCredentials: the server refused the login. Callers must not tell
// the user more than that.
var ErrBadCredentials = errors.New("invalid email or password")

// CheckLogin checks an account's own password with a LOGIN on the server,
// then logs out; it never uses srv's Credentials (nor a master user). It
// returns nil when the server accepts them, ErrBadCredentials when it
// refuses them, and another error when it cannot be asked. The whole
// exchange is bounded by ctx and by srv.Timeout.
func CheckLogin(ctx context.Context, srv Server, address, password string) error {
	timeout := srv.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dialClient(srv)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	defer c.Close() //nolint:errcheck // closing after LOGOUT, or after a failure already reported
	if err := c.WaitGreeting(); err != nil {
		return fmt.Errorf("imap server %s greeting: %w", srv.Address, err)
	}
	if err := c.Login(address, password).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return ErrBadCredentials
		}
		return fmt.Errorf("imap login at %s: %w", srv.Address, err)
	}
	if err := c.Logout().Wait(); err != nil {
		return fmt.Errorf("imap logout at %s: %w", srv.Address, err)
	}
	return nil
}

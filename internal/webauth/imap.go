package webauth

import (
	"context"

	"mtm/internal/imapconn"
)

// ErrBadCredentials: the server refused the login. Callers must not tell
// the user more than that.
var ErrBadCredentials = imapconn.ErrBadCredentials

// IMAPVerifier checks an account's own credentials with a LOGIN on the IMAP
// server (imapconn.CheckLogin), then logs out. It never uses a master user.
type IMAPVerifier struct {
	Server imapconn.Server // where to log in; its Credentials are not used
}

// Verify returns nil when the server accepts address and password,
// ErrBadCredentials when it refuses them, and another error when it cannot
// be asked.
func (v IMAPVerifier) Verify(ctx context.Context, address, password string) error {
	return imapconn.CheckLogin(ctx, v.Server, address, password)
}

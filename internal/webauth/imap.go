package webauth

import (
	"context"
	"regexp"
	"strings"
	"time"

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

// loginName is what an account's own login name may look like: a bare
// lower-case address.
var loginName = regexp.MustCompile("^[a-z0-9.!#$%&'+/=?^_`{|}~-]{1,64}@[a-z0-9-]+(\\.[a-z0-9-]+)*$")

// Plausible tells whether address (lower-cased, trimmed) and password can
// be an account's own login, before the live server is asked: a bare
// address without the master-user separator, and a password of at most
// 1,024 bytes without NUL or line breaks. Every user interface (the
// webmail, the IMAP server) asks it first: nobody logs in as
// "address<sep>master" through them.
func Plausible(address, password, masterSeparator string) bool {
	if len(address) > 254 || !loginName.MatchString(address) {
		return false
	}
	if masterSeparator != "" && strings.Contains(address, masterSeparator) {
		return false
	}
	return password != "" && len(password) <= 1024 && !strings.ContainsAny(password, "\x00\r\n")
}

// Verifier checks an account's own password (IMAPVerifier).
type Verifier interface {
	Verify(ctx context.Context, address, password string) error
}

// Checker asks a Verifier at most a few at a time, each within a timeout,
// so that a burst of logins cannot open a burst of connections to the
// live server.
type Checker struct {
	verifier Verifier
	timeout  time.Duration
	slots    chan struct{}
}

// NewChecker returns a checker of at most max checks at once (8 when
// zero), each within timeout (20 s when zero).
func NewChecker(v Verifier, timeout time.Duration, max int) *Checker {
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	if max <= 0 {
		max = 8
	}
	return &Checker{verifier: v, timeout: timeout, slots: make(chan struct{}, max)}
}

// Check waits for a free slot and asks the verifier: nil, ErrBadCredentials,
// or another error when the password cannot be checked.
func (c *Checker) Check(ctx context.Context, address, password string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.verifier.Verify(ctx, address, password)
}

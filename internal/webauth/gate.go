package webauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/web"
)

// ErrThrottled is the answer while an account or client must wait before
// its next attempt (see ThrottledError).
var ErrThrottled = errors.New("too many failed logins; try again later")

// ThrottledError says how long to wait; it is ErrThrottled.
type ThrottledError struct{ Wait time.Duration }

func (e ThrottledError) Error() string        { return ErrThrottled.Error() }
func (e ThrottledError) Is(target error) bool { return target == ErrThrottled }

// GateOptions configure a Gate.
type GateOptions struct {
	Clock    clock.Clock // default the real clock
	Cookie   string      // the session cookie's name
	SameSite http.SameSite
	Sessions SessionOptions
	Throttle ThrottleOptions
	// Shared, if set, keeps the sessions and the failed logins in the
	// catalog, under Realm, so that every web node shares them (a cluster
	// on PostgreSQL); nil keeps them in this process's memory.
	Shared catalog.WebSessions
	Realm  string
	// Guard says whether cookies must be Secure; required for sessions
	// (Start, End), not for Try.
	Guard  *web.Guard
	Logger *slog.Logger // errors of the shared store; default discarded
	// DeviceCookie names the cookie that proves a browser logged in before
	// (default Cookie + "_device"); DeviceKey signs it (the catalog's
	// secret DeviceKeyName; default a random key of this process).
	DeviceCookie string
	DeviceKey    []byte
}

// Gate is the one login and session path of every user interface: it
// throttles attempts per account and per client address, keeps the
// sessions that follow a login, and sets and clears their cookie. Who may
// log in, and how a password is checked, is the interface's (Attempt's
// check); everything around it is here.
type Gate struct {
	o        GateOptions
	sessions SessionStore
	throttle Limiter
	devices  devices
	log      *slog.Logger
}

// NewGate returns a gate with no session.
func NewGate(o GateOptions) *Gate {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.DeviceCookie == "" {
		o.DeviceCookie = o.Cookie + "_device"
	}
	if len(o.DeviceKey) == 0 {
		o.DeviceKey = make([]byte, deviceKeySize)
		_, _ = rand.Read(o.DeviceKey) // crypto/rand.Read never fails (Go 1.24+)
	}
	g := &Gate{o: o, log: o.Logger, devices: devices{key: o.DeviceKey, realm: o.Realm}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if o.Shared != nil {
		g.sessions = &SharedSessions{Catalog: o.Shared, Realm: o.Realm, Clock: o.Clock, Options: o.Sessions}
		g.throttle = &SharedThrottle{Catalog: o.Shared, Realm: o.Realm, Clock: o.Clock, Options: o.Throttle}
	} else {
		g.sessions = memSessions{NewSessions(o.Clock, o.Sessions)}
		g.throttle = memThrottle{NewThrottle(o.Clock, o.Throttle)}
	}
	return g
}

// Attempt runs one login attempt of account from client, in request r.
// It returns a ThrottledError, without calling check, while the attempt
// must wait (docs/design.md, "Login throttling": the account's own count
// is waited for only by a browser without the account's device cookie);
// else it calls check, which returns nil for good credentials,
// ErrBadCredentials for bad ones, or another error when they cannot be
// checked. Bad credentials count against the client, the account and
// client, and the account; good ones clear the account-and-client count.
// Attempt returns check's error, or the shared store's.
func (g *Gate) Attempt(r *http.Request, account, client string, check func() error) error {
	return g.Try(r.Context(), account, client, g.known(r, account), check)
}

// Try is Attempt for a client that is not a browser (the IMAP server's):
// known tells whether the client proved it logged in to the account
// before; a client that cannot prove it waits for the account's count too.
func (g *Gate) Try(ctx context.Context, account, client string, known bool, check func() error) error {
	wait, err := g.throttle.Wait(ctx, account, client, known)
	if err != nil {
		return fmt.Errorf("reading failed logins: %w", err)
	}
	if wait > 0 {
		return ThrottledError{Wait: wait}
	}
	err = check()
	switch {
	case errors.Is(err, ErrBadCredentials):
		if ferr := g.throttle.Failed(ctx, account, client); ferr != nil {
			g.log.Error("recording a failed login", "err", ferr)
		}
	case err == nil:
		if serr := g.throttle.Succeeded(ctx, account, client); serr != nil {
			g.log.Error("clearing failed logins", "err", serr)
		}
	}
	return err
}

// Start begins a session for account and sets its cookie, and the
// device cookie that lets this browser in while others guess.
func (g *Gate) Start(w http.ResponseWriter, r *http.Request, account string) (Session, error) {
	ses, err := g.sessions.Create(r.Context(), account)
	if err != nil {
		return Session{}, err
	}
	http.SetCookie(w, &http.Cookie{Name: g.o.Cookie, Value: ses.ID, Path: "/", HttpOnly: true,
		Secure: g.o.Guard.Secure(r), SameSite: g.o.SameSite})
	g.remember(w, r, account)
	return ses, nil
}

// End ends the request's session, if any, and clears its cookie.
func (g *Gate) End(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(g.o.Cookie); err == nil {
		g.Drop(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: g.o.Cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: g.o.Guard.Secure(r), SameSite: g.o.SameSite})
}

// Session returns the request's live session. A shared store that cannot
// be read counts as no session (the user logs in again), and is logged.
func (g *Gate) Session(r *http.Request) (Session, bool) {
	c, err := r.Cookie(g.o.Cookie)
	if err != nil {
		return Session{}, false
	}
	ses, ok, err := g.sessions.Get(r.Context(), c.Value)
	if err != nil {
		g.log.Error("reading a session", "err", err)
		return Session{}, false
	}
	return ses, ok
}

// Secure tells whether the cookies of r must be Secure (web.Guard.Secure):
// the session's, and any other the interface sets.
func (g *Gate) Secure(r *http.Request) bool { return g.o.Guard.Secure(r) }

// Drop ends a session by id (the admin it belongs to is gone).
func (g *Gate) Drop(ctx context.Context, id string) {
	if err := g.sessions.Delete(ctx, id); err != nil {
		g.log.Error("ending a session", "err", err)
	}
}

package webauth

import (
	"errors"
	"net/http"
	"time"

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
	// Guard says whether cookies must be Secure; required.
	Guard *web.Guard
}

// Gate is the one login and session path of every user interface: it
// throttles attempts per account and per client address, keeps the
// sessions that follow a login, and sets and clears their cookie. Who may
// log in, and how a password is checked, is the interface's (Attempt's
// check); everything around it is here.
type Gate struct {
	o        GateOptions
	sessions *Sessions
	throttle *Throttle
}

// NewGate returns a gate with no session.
func NewGate(o GateOptions) *Gate {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &Gate{o: o, sessions: NewSessions(o.Clock, o.Sessions), throttle: NewThrottle(o.Clock, o.Throttle)}
}

// Attempt runs one login attempt of account from client. It returns a
// ThrottledError, without calling check, while either must wait; else it
// calls check, which returns nil for good credentials, ErrBadCredentials
// for bad ones, or another error when they cannot be checked. Bad
// credentials count against the account and the client; good ones clear
// the account's count. Attempt returns check's error.
func (g *Gate) Attempt(account, client string, check func() error) error {
	if wait := g.throttle.Wait(account, client); wait > 0 {
		return ThrottledError{Wait: wait}
	}
	err := check()
	switch {
	case errors.Is(err, ErrBadCredentials):
		g.throttle.Failed(account, client)
	case err == nil:
		g.throttle.Succeeded(account)
	}
	return err
}

// Start begins a session for account and sets its cookie.
func (g *Gate) Start(w http.ResponseWriter, r *http.Request, account string) Session {
	ses := g.sessions.Create(account)
	http.SetCookie(w, &http.Cookie{Name: g.o.Cookie, Value: ses.ID, Path: "/", HttpOnly: true,
		Secure: g.o.Guard.Secure(r), SameSite: g.o.SameSite})
	return ses
}

// End ends the request's session, if any, and clears its cookie.
func (g *Gate) End(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(g.o.Cookie); err == nil {
		g.sessions.Delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: g.o.Cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: g.o.Guard.Secure(r), SameSite: g.o.SameSite})
}

// Session returns the request's live session.
func (g *Gate) Session(r *http.Request) (Session, bool) {
	c, err := r.Cookie(g.o.Cookie)
	if err != nil {
		return Session{}, false
	}
	return g.sessions.Get(c.Value)
}

// Drop ends a session by id (the admin it belongs to is gone).
func (g *Gate) Drop(id string) { g.sessions.Delete(id) }

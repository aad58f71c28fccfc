package webauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// SessionStore keeps the sessions of one interface: Sessions in memory
// (one process), or SharedSessions in the catalog (any number of web
// nodes).
type SessionStore interface {
	Create(ctx context.Context, account string) (Session, error)
	// Get returns the live session with id and marks it used; ok is
	// false for an unknown or expired id.
	Get(ctx context.Context, id string) (ses Session, ok bool, err error)
	Delete(ctx context.Context, id string) error
}

// Limiter throttles login attempts: Throttle in memory, or SharedThrottle
// in the catalog.
type Limiter interface {
	Wait(ctx context.Context, account, client string, known bool) (time.Duration, error)
	Failed(ctx context.Context, account, client string) error
	Succeeded(ctx context.Context, account, client string) error
}

// memSessions and memThrottle adapt Sessions and Throttle (one process's
// memory) to the store interfaces.
type memSessions struct{ *Sessions }

func (m memSessions) Create(_ context.Context, account string) (Session, error) {
	return m.Sessions.Create(account), nil
}

func (m memSessions) Get(_ context.Context, id string) (Session, bool, error) {
	s, ok := m.Sessions.Get(id)
	return s, ok, nil
}

func (m memSessions) Delete(_ context.Context, id string) error { m.Sessions.Delete(id); return nil }

type memThrottle struct{ *Throttle }

func (m memThrottle) Wait(_ context.Context, account, client string, known bool) (time.Duration, error) {
	return m.Throttle.Wait(account, client, known), nil
}

func (m memThrottle) Failed(_ context.Context, account, client string) error {
	m.Throttle.Failed(account, client)
	return nil
}

func (m memThrottle) Succeeded(_ context.Context, account, client string) error {
	m.Throttle.Succeeded(account, client)
	return nil
}

// newID is a new 256-bit random session id.
func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// touchEvery is how stale a shared session's last use may be before a
// request records it again: a write per minute per user, not per request.
const touchEvery = time.Minute

// SharedSessions keeps one interface's sessions in the catalog, so that
// every web node knows them. The catalog holds the SHA-256 of each id,
// never the id.
type SharedSessions struct {
	Catalog catalog.WebSessions
	Realm   string // "webmail" or "admin"
	Clock   clock.Clock
	Options SessionOptions
}

func (s *SharedSessions) opts() SessionOptions {
	o := s.Options
	if o.Idle == 0 {
		o.Idle = 30 * time.Minute
	}
	if o.Absolute == 0 {
		o.Absolute = 12 * time.Hour
	}
	return o
}

// Create starts a session for account.
func (s *SharedSessions) Create(ctx context.Context, account string) (Session, error) {
	o, now := s.opts(), s.Clock.Now()
	ses := Session{ID: newID(), Account: account, Created: now, Seen: now}
	err := s.Catalog.CreateSession(ctx, s.Realm, sha256.Sum256([]byte(ses.ID)), account, now.Add(-o.Idle))
	return ses, err
}

// Get returns the live session with id, recording its use.
func (s *SharedSessions) Get(ctx context.Context, id string) (Session, bool, error) {
	o, now := s.opts(), s.Clock.Now()
	h := sha256.Sum256([]byte(id))
	row, err := s.Catalog.Session(ctx, s.Realm, h)
	if errors.Is(err, catalog.ErrNotFound) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, err
	}
	ses := Session{ID: id, Account: row.Account, Created: row.Created, Seen: row.Seen}
	if now.Sub(ses.Seen) >= o.Idle || now.Sub(ses.Created) >= o.Absolute {
		return Session{}, false, s.Catalog.DeleteSession(ctx, s.Realm, h)
	}
	if now.Sub(ses.Seen) >= touchEvery {
		if err := s.Catalog.TouchSession(ctx, s.Realm, h); err != nil {
			return Session{}, false, err
		}
	}
	ses.Seen = now
	return ses, true, nil
}

// Delete ends a session.
func (s *SharedSessions) Delete(ctx context.Context, id string) error {
	return s.Catalog.DeleteSession(ctx, s.Realm, sha256.Sum256([]byte(id)))
}

// SharedThrottle counts failed logins in the catalog, so that guessing is
// slowed down across every web node; the rule is Throttle's.
type SharedThrottle struct {
	Catalog catalog.WebSessions
	Realm   string
	Clock   clock.Clock
	Options ThrottleOptions
}

func (t *SharedThrottle) keys(account, client string) (c, p, a string) {
	c, p, a = throttleKeys(account, client)
	return t.Realm + ":" + c, t.Realm + ":" + p, t.Realm + ":" + a
}

// Wait returns how long an attempt must still wait (Throttle.Wait).
func (t *SharedThrottle) Wait(ctx context.Context, account, client string, known bool) (time.Duration, error) {
	c, p, a := t.keys(account, client)
	keys := []string{c, p, a}
	if known {
		keys = keys[:2]
	}
	until, err := t.Catalog.LoginWait(ctx, keys...)
	if err != nil {
		return 0, err
	}
	return max(until.Sub(t.Clock.Now()), 0), nil
}

// Failed records a failed login against the three counts.
func (t *SharedThrottle) Failed(ctx context.Context, account, client string) error {
	o, now := t.Options.withDefaults(), t.Clock.Now()
	c, p, a := t.keys(account, client)
	for _, k := range []struct {
		key  string
		free int
	}{{c, o.FreeClient}, {p, o.FreePair}, {a, o.FreeAccount}} {
		err := t.Catalog.RecordLoginFailure(ctx, k.key, now.Add(-o.Forget), func(n int) time.Time {
			return now.Add(o.delay(n, k.free))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Succeeded clears the account-and-client count.
func (t *SharedThrottle) Succeeded(ctx context.Context, account, client string) error {
	_, p, _ := t.keys(account, client)
	return t.Catalog.ClearLoginFailures(ctx, p)
}

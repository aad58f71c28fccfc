package webauth

import (
	"sync"
	"time"

	"mtm/internal/clock"
)

// Session is one logged-in user.
type Session struct {
	ID      string // random, secret: the cookie value
	Account string // the address, lower-cased
	Created time.Time
	Seen    time.Time // last request
}

// SessionOptions tune Sessions; zero fields take the defaults.
type SessionOptions struct {
	Idle     time.Duration // 30 min
	Absolute time.Duration // 12 h
	Max      int           // sessions kept at most (100,000); the oldest go first
}

// Sessions holds the live sessions in memory. It is safe for concurrent use.
type Sessions struct {
	clk  clock.Clock
	opts SessionOptions
	mu   sync.Mutex
	byID map[string]*Session
}

// NewSessions returns an empty store reading the time from clk.
func NewSessions(clk clock.Clock, opts SessionOptions) *Sessions {
	if opts.Idle == 0 {
		opts.Idle = 30 * time.Minute
	}
	if opts.Absolute == 0 {
		opts.Absolute = 12 * time.Hour
	}
	if opts.Max == 0 {
		opts.Max = 100000
	}
	return &Sessions{clk: clk, opts: opts, byID: make(map[string]*Session)}
}

// Create starts a session for account with a new 256-bit random id.
func (s *Sessions) Create(account string) Session {
	now := s.clk.Now()
	ses := &Session{ID: newID(), Account: account, Created: now, Seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.opts.Max {
		s.expire(now)
		s.dropOldest()
	}
	s.byID[ses.ID] = ses
	return *ses
}

// Get returns the live session with id and marks it used; ok is false for
// an unknown or expired id (an expired one is deleted).
func (s *Sessions) Get(id string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.byID[id]
	if ses == nil {
		return Session{}, false
	}
	now := s.clk.Now()
	if s.expired(ses, now) {
		delete(s.byID, id)
		return Session{}, false
	}
	ses.Seen = now
	return *ses, true
}

// Delete ends a session.
func (s *Sessions) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// Len returns the number of sessions held, expired ones not yet dropped
// included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

func (s *Sessions) expired(ses *Session, now time.Time) bool {
	return now.Sub(ses.Seen) >= s.opts.Idle || now.Sub(ses.Created) >= s.opts.Absolute
}

func (s *Sessions) expire(now time.Time) {
	for id, ses := range s.byID {
		if s.expired(ses, now) {
			delete(s.byID, id)
		}
	}
}

func (s *Sessions) dropOldest() {
	for len(s.byID) >= s.opts.Max {
		var oldest *Session
		for _, ses := range s.byID {
			if oldest == nil || ses.Seen.Before(oldest.Seen) {
				oldest = ses
			}
		}
		delete(s.byID, oldest.ID)
	}
}

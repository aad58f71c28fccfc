package webauth

import (
	"sync"
	"time"

	"mtm/internal/clock"
)

// ThrottleOptions tune a Throttle; zero fields take the defaults of
// docs/design.md.
type ThrottleOptions struct {
	FreePair    int           // failures per account and client address before delays start (3)
	FreeAccount int           // failures per account, from any client, before delays start (10)
	FreeClient  int           // failures per client address before delays start (10)
	FirstDelay  time.Duration // delay after the first failure beyond the allowance (1 s)
	MaxDelay    time.Duration // longest delay (15 min)
	Forget      time.Duration // a count is dropped this long after its last failure (24 h)
	MaxKeys     int           // keys remembered at most (100,000)
}

// Throttle slows down password guessing (docs/design.md, "Login
// throttling"): each failure counts against the client address, the
// account and client together, and the account; each failure beyond a
// count's free allowance locks it for a delay that doubles with every
// further failure. It is safe for concurrent use.
type Throttle struct {
	clk  clock.Clock
	opts ThrottleOptions
	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

// withDefaults fills the zero fields.
func (opts ThrottleOptions) withDefaults() ThrottleOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&opts.FreePair, 3)
	def(&opts.FreeAccount, 10)
	def(&opts.FreeClient, 10)
	def(&opts.MaxKeys, 100000)
	defDur(&opts.FirstDelay, time.Second)
	defDur(&opts.MaxDelay, 15*time.Minute)
	defDur(&opts.Forget, 24*time.Hour)
	return opts
}

// delay is the wait after the n-th failure of a key allowed free ones: 0
// within the allowance, then FirstDelay doubling with each failure, up to
// MaxDelay.
func (opts ThrottleOptions) delay(n, free int) time.Duration {
	over := n - free
	if over <= 0 {
		return 0
	}
	d := opts.FirstDelay << min(over-1, 30)
	if d <= 0 || d > opts.MaxDelay {
		d = opts.MaxDelay
	}
	return d
}

// NewThrottle returns a throttle reading the time from clk.
func NewThrottle(clk clock.Clock, opts ThrottleOptions) *Throttle {
	return &Throttle{clk: clk, opts: opts.withDefaults(), keys: make(map[string]*failures)}
}

// throttleKeys are the three counts of an attempt: the client's, the
// account and client's, and the account's.
func throttleKeys(account, client string) (c, p, a string) {
	return "c:" + client, "p:" + account + ":" + client, "a:" + account
}

// Wait returns how long an attempt at account from client must still
// wait; 0 means it may try now. known (the browser holds the account's
// device cookie) spares it the account's own count.
func (t *Throttle) Wait(account, client string, known bool) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clk.Now()
	c, p, a := throttleKeys(account, client)
	keys := []string{c, p, a}
	if known {
		keys = keys[:2]
	}
	var wait time.Duration
	for _, k := range keys {
		if f := t.keys[k]; f != nil && f.until.After(now) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	return wait
}

// Failed records a failed login.
func (t *Throttle) Failed(account, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clk.Now()
	if len(t.keys) >= t.opts.MaxKeys {
		t.forgetOld(now)
	}
	c, p, a := throttleKeys(account, client)
	t.fail(c, t.opts.FreeClient, now)
	t.fail(p, t.opts.FreePair, now)
	t.fail(a, t.opts.FreeAccount, now)
}

func (t *Throttle) fail(key string, free int, now time.Time) {
	f := t.keys[key]
	if f == nil || now.Sub(f.last) > t.opts.Forget {
		f = &failures{}
		t.keys[key] = f
	}
	f.n++
	f.last = now
	if d := t.opts.delay(f.n, free); d > 0 {
		f.until = now.Add(d)
	}
}

// Succeeded clears the account-and-client count. The client's and the
// account's stay: they are a guesser's, and decay.
func (t *Throttle) Succeeded(account, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, p, _ := throttleKeys(account, client)
	delete(t.keys, p)
}

// forgetOld drops counts past Forget, or, if none are, the oldest half.
func (t *Throttle) forgetOld(now time.Time) {
	for k, f := range t.keys {
		if now.Sub(f.last) > t.opts.Forget {
			delete(t.keys, k)
		}
	}
	if len(t.keys) < t.opts.MaxKeys {
		return
	}
	n := 0
	for k := range t.keys { // map order is random: drops an arbitrary half
		if n >= len(t.keys)/2 {
			break
		}
		delete(t.keys, k)
		n++
	}
}

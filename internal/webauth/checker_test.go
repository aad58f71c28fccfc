package webauth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPlausible(t *testing.T) {
	for _, tc := range []struct {
		address, password string
		want              bool
	}{
		{"alice@example.com", "pw", true},
		{"alice@example.com*master", "pw", false}, // the master-user form
		{"alice", "pw", false},
		{"Alice@example.com", "pw", false}, // callers lower-case first
		{"alice@example.com", "", false},
		{"alice@example.com", "a\r\nb", false},
		{"alice@example.com", strings.Repeat("p", 1025), false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + ".com", "pw", false}, // over 254
	} {
		if got := Plausible(tc.address, tc.password, "*"); got != tc.want {
			t.Errorf("Plausible(%q, %q): %v, want %v", tc.address, tc.password, got, tc.want)
		}
	}
}

// slowVerifier counts the checks running at once.
type slowVerifier struct {
	running, most atomic.Int32
}

func (v *slowVerifier) Verify(ctx context.Context, _, password string) error {
	n := v.running.Add(1)
	defer v.running.Add(-1)
	for {
		m := v.most.Load()
		if n <= m || v.most.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	if password != "right" {
		return ErrBadCredentials
	}
	return nil
}

func TestCheckerBoundsAndTimesOut(t *testing.T) {
	v := &slowVerifier{}
	c := NewChecker(v, time.Second, 3)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := "wrong"
			if i%2 == 0 {
				pw = "right"
			}
			err := c.Check(context.Background(), "alice@example.com", pw)
			if (pw == "right") != (err == nil) || (err != nil && !errors.Is(err, ErrBadCredentials)) {
				t.Errorf("check %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if most := v.most.Load(); most != 3 {
		t.Errorf("%d checks ran at once, want 3", most)
	}
	short := NewChecker(v, 5*time.Millisecond, 1)
	if err := short.Check(context.Background(), "alice@example.com", "right"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a check past its timeout: %v", err)
	}
}

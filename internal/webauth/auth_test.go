package webauth

import (
	"context"
	"errors"
	"testing"
	"time"

	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/testenv/dovecot"
)

func TestThrottleGrowsPerAccountAndClient(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	th := NewThrottle(clk, ThrottleOptions{})
	for i := 0; i < 3; i++ {
		if w := th.Wait("alice", "1.2.3.4"); w != 0 {
			t.Fatalf("attempt %d throttled %v", i, w)
		}
		th.Failed("alice", "1.2.3.4")
	}
	if w := th.Wait("alice", "1.2.3.4"); w != 0 {
		t.Fatalf("three free failures, then throttled %v", w)
	}
	var want time.Duration = time.Second
	for i := 0; i < 5; i++ {
		th.Failed("alice", "1.2.3.4")
		if w := th.Wait("alice", "9.9.9.9"); w != want {
			t.Errorf("failure %d: account waits %v, want %v", 4+i, w, want)
		}
		clk.Advance(want)
		want *= 2
	}
	if w := th.Wait("bob", "9.9.9.9"); w != 0 {
		t.Errorf("another account from another client waits %v", w)
	}
	// The client is throttled across accounts after its own allowance.
	for i := 0; i < 3; i++ {
		th.Failed("user"+string(rune('a'+i)), "1.2.3.4")
	}
	if w := th.Wait("carol", "1.2.3.4"); w == 0 {
		t.Error("client with 11 failures is not throttled for a new account")
	}
	if w := th.Wait("carol", "5.5.5.5"); w != 0 {
		t.Errorf("new account from a new client waits %v", w)
	}
	// Success clears the account, not the client.
	clk.Advance(time.Hour)
	th.Failed("alice", "1.2.3.4")
	th.Succeeded("alice")
	if w := th.Wait("alice", "7.7.7.7"); w != 0 {
		t.Errorf("account still throttled after success: %v", w)
	}
	if w := th.Wait("dave", "1.2.3.4"); w == 0 {
		t.Error("success of one account cleared the client")
	}
	// Delays are capped.
	for i := 0; i < 40; i++ {
		th.Failed("eve", "6.6.6.6")
	}
	if w := th.Wait("eve", "0"); w != 15*time.Minute {
		t.Errorf("capped delay %v", w)
	}
}

func TestSessionsExpire(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ss := NewSessions(clk, SessionOptions{})
	a := ss.Create("alice@example.com")
	b := ss.Create("alice@example.com")
	if a.ID == b.ID || len(a.ID) < 43 {
		t.Fatalf("ids %q %q", a.ID, b.ID)
	}
	clk.Advance(29 * time.Minute)
	if _, ok := ss.Get(a.ID); !ok {
		t.Fatal("session gone before idle expiry")
	}
	clk.Advance(29 * time.Minute) // a was used 29 min ago, b 58 min ago
	if _, ok := ss.Get(b.ID); ok {
		t.Error("idle session still valid")
	}
	for i := 0; i < 30; i++ { // keep a busy for 14.5 hours
		if _, ok := ss.Get(a.ID); !ok {
			if elapsed := time.Duration(i+2) * 29 * time.Minute; elapsed < 12*time.Hour {
				t.Fatalf("busy session expired after %v", elapsed)
			}
			break
		}
		clk.Advance(29 * time.Minute)
		if i == 29 {
			t.Fatal("session outlived the absolute expiry")
		}
	}
	c := ss.Create("bob@example.com")
	ss.Delete(c.ID)
	if _, ok := ss.Get(c.ID); ok {
		t.Error("deleted session valid")
	}
	if _, ok := ss.Get("guess"); ok {
		t.Error("unknown id valid")
	}
}

func TestSessionsAreBounded(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ss := NewSessions(clk, SessionOptions{Max: 3})
	first := ss.Create("a")
	for i := 0; i < 5; i++ {
		clk.Advance(time.Second)
		ss.Create("b")
	}
	if n := ss.Len(); n != 3 {
		t.Errorf("%d sessions kept, max 3", n)
	}
	if _, ok := ss.Get(first.ID); ok {
		t.Error("oldest session kept")
	}
}

func TestIMAPVerifierUsesTheAccountsOwnPassword(t *testing.T) {
	dc := dovecot.Start(t)
	dc.AddUser(t, "alice@example.com", "right horse")
	v := IMAPVerifier{Server: imapconn.Server{Address: dc.Addr, TLS: "none", Timeout: 10 * time.Second}}
	ctx := context.Background()
	if err := v.Verify(ctx, "alice@example.com", "right horse"); err != nil {
		t.Fatalf("good password: %v", err)
	}
	for _, c := range []struct{ user, pw string }{
		{"alice@example.com", "wrong"},
		{"alice@example.com", ""},
		{"nobody@example.com", "right horse"},
		{"alice@example.com*" + dc.MasterUser, "wrong"},
	} {
		if err := v.Verify(ctx, c.user, c.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s / %q: %v, want ErrBadCredentials", c.user, c.pw, err)
		}
	}
	down := IMAPVerifier{Server: imapconn.Server{Address: "127.0.0.1:1", TLS: "none", Timeout: time.Second}}
	if err := down.Verify(ctx, "alice@example.com", "right horse"); err == nil || errors.Is(err, ErrBadCredentials) {
		t.Errorf("unreachable server: %v", err)
	}
}

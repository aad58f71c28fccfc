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

// TestThrottle: three counts (docs/design.md, "Login throttling"). Guesses
// at one account from one address are slowed after 3; guesses from
// rotating addresses after 10 for the account, except for a browser that
// logged in as it before; one address guessing many accounts after 10.
func TestThrottle(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	th := NewThrottle(clk, ThrottleOptions{})
	for i := 0; i < 3; i++ {
		if w := th.Wait("alice", "1.2.3.4", false); w != 0 {
			t.Fatalf("attempt %d throttled %v", i, w)
		}
		th.Failed("alice", "1.2.3.4")
	}
	if w := th.Wait("alice", "1.2.3.4", false); w != 0 {
		t.Fatalf("three free failures, then throttled %v", w)
	}
	var want time.Duration = time.Second
	for i := 0; i < 5; i++ {
		th.Failed("alice", "1.2.3.4")
		if w := th.Wait("alice", "1.2.3.4", true); w != want {
			t.Errorf("failure %d: the address waits %v at the account, want %v", 4+i, w, want)
		}
		if w := th.Wait("alice", "9.9.9.9", true); w != 0 {
			t.Errorf("failure %d: the account's own browser elsewhere waits %v", 4+i, w)
		}
		clk.Advance(want)
		want *= 2
	}
	// Guesses from rotating addresses: 8 so far at alice; two more are
	// free for the account, then every browser without alice's device
	// cookie waits, and hers does not.
	th.Failed("alice", "10.0.0.1")
	th.Failed("alice", "10.0.0.2")
	if w := th.Wait("alice", "10.0.0.3", false); w != 0 {
		t.Fatalf("ten failures for the account, then throttled %v", w)
	}
	th.Failed("alice", "10.0.0.3")
	if w := th.Wait("alice", "10.0.0.4", false); w != time.Second {
		t.Errorf("a new address at alice after 11 failures waits %v, want 1s", w)
	}
	if w := th.Wait("alice", "10.0.0.4", true); w != 0 {
		t.Errorf("alice's own browser waits %v while others guess", w)
	}
	if w := th.Wait("bob", "10.0.0.4", false); w != 0 {
		t.Errorf("another account waits %v", w)
	}
	// One address guessing many accounts waits after 10 failures.
	for i := 0; i < 10; i++ {
		th.Failed("user"+string(rune('a'+i)), "5.5.5.5")
	}
	if w := th.Wait("carol", "5.5.5.5", false); w != 0 {
		t.Errorf("ten free failures of the address, then throttled %v", w)
	}
	th.Failed("userk", "5.5.5.5")
	if w := th.Wait("carol", "5.5.5.5", true); w == 0 {
		t.Error("an address with 11 failures is not throttled, even with a device cookie")
	}
	// Success clears the account-and-address count only.
	clk.Advance(time.Hour)
	for i := 0; i < 4; i++ {
		th.Failed("dave", "7.7.7.7")
	}
	th.Succeeded("dave", "7.7.7.7")
	if w := th.Wait("dave", "7.7.7.7", true); w != 0 {
		t.Errorf("still throttled after a success: %v", w)
	}
	// Delays are capped, and forgotten after a day.
	for i := 0; i < 40; i++ {
		th.Failed("eve", "6.6.6.6")
	}
	if w := th.Wait("eve", "0", false); w != 15*time.Minute {
		t.Errorf("capped delay %v", w)
	}
	clk.Advance(25 * time.Hour)
	th.Failed("eve", "6.6.6.6")
	if w := th.Wait("eve", "6.6.6.6", false); w != 0 {
		t.Errorf("after a day, one failure waits %v", w)
	}
}

// TestDeviceCookies: a device cookie proves a login of its account in its
// realm, for 90 days, and cannot be forged or moved to another account.
func TestDeviceCookies(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := devices{key: []byte("0123456789abcdef0123456789abcdef"), realm: "webmail"}
	tok := d.token("Alice@Example.com", now)
	if !d.valid(tok, "alice@example.com", now.Add(89*24*time.Hour)) {
		t.Error("a fresh cookie is not valid")
	}
	if d.valid(tok, "alice@example.com", now.Add(91*24*time.Hour)) {
		t.Error("a cookie of 91 days is valid")
	}
	if d.valid(tok, "bob@example.com", now) {
		t.Error("alice's cookie is valid for bob")
	}
	if (devices{key: d.key, realm: "admin"}).valid(tok, "alice@example.com", now) {
		t.Error("a webmail cookie is valid for the admin panel")
	}
	if (devices{key: []byte("another key, another installation"), realm: "webmail"}).valid(tok, "alice@example.com", now) {
		t.Error("a cookie is valid under another key")
	}
	b := []byte(tok)
	b[len(b)-2] ^= 1
	if d.valid(string(b), "alice@example.com", now) || d.valid("", "alice@example.com", now) || d.valid("!!", "alice@example.com", now) {
		t.Error("a damaged cookie is valid")
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

package catalogtest

import (
	"context"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// testSettings: an account's settings are the defaults until its user
// changes them; a change is seen by another process, and stays the
// account's own.
func (cs suite) testSettings(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	a := store(t, catalog.Options{Clock: clk, Owner: "hosta:1:a"})
	b := store(t, catalog.Options{Clock: clk, Owner: "hostb:2:b"})
	alice, err := a.Account(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := a.Account(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := a.AccountSettings(ctx, alice); err != nil || s != catalog.DefaultAccountSettings || !s.MassDeletionWarning {
		t.Fatalf("a new account's settings: %+v %v, want the defaults (warned)", s, err)
	}
	for _, want := range []bool{false, true, false} {
		if err := a.SetAccountSettings(ctx, alice, catalog.AccountSettings{MassDeletionWarning: want}); err != nil {
			t.Fatal(err)
		}
		if s, err := b.AccountSettings(ctx, alice); err != nil || s.MassDeletionWarning != want {
			t.Fatalf("after setting the warning to %v, another process reads %+v %v", want, s, err)
		}
	}
	if err := a.SetAccountSettings(ctx, alice, catalog.AccountSettings{MassDeletionWarning: false, Language: "it"}); err != nil {
		t.Fatal(err)
	}
	if s, err := b.AccountSettings(ctx, alice); err != nil || s.Language != "it" || s.MassDeletionWarning {
		t.Errorf("alice's language: %+v %v", s, err)
	}
	if s, err := b.AccountSettings(ctx, bob); err != nil || !s.MassDeletionWarning || s.Language != "" {
		t.Errorf("bob's settings changed with alice's: %+v %v", s, err)
	}
}

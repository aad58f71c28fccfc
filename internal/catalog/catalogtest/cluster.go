package catalogtest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// testNodes: nodes register with their roles, beat, and are taken for dead
// when silent; a node forgets others but never itself; a clean stop is not
// a death.
func (cs suite) testNodes(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	a := store(t, catalog.Options{Clock: clk, Owner: "hosta:1:a"})
	b := store(t, catalog.Options{Clock: clk, Owner: "hostb:2:b"})
	if err := a.RegisterNode(ctx, []string{"web", "worker"}); err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterNode(ctx, []string{"worker"}); err != nil {
		t.Fatal(err)
	}
	nodes, err := a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].ID != "hosta:1:a" || len(nodes[0].Roles) != 2 || nodes[1].Roles[0] != "worker" ||
		nodes[0].Dead != "" || nodes[1].Dead != "" {
		t.Fatalf("two live nodes: %+v", nodes)
	}
	clk.Advance(10 * time.Minute)
	if err := a.HeartbeatNode(ctx); err != nil {
		t.Fatal(err)
	}
	nodes, err = a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Dead != "" || nodes[1].Dead == "" {
		t.Fatalf("b silent for 10 minutes: %+v", nodes)
	}
	if err := a.ForgetNode(ctx, "hosta:1:a"); err != nil {
		t.Fatal(err)
	}
	if err := a.ForgetNode(ctx, "hostb:2:b"); err != nil {
		t.Fatal(err)
	}
	if nodes, err = a.Nodes(ctx); err != nil || len(nodes) != 1 || nodes[0].ID != "hosta:1:a" {
		t.Fatalf("after forgetting itself and b: %+v, %v", nodes, err)
	}
	if err := b.RegisterNode(ctx, []string{"web"}); err != nil {
		t.Fatal(err)
	}
	if err := b.StopNode(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	if nodes, err = a.Nodes(ctx); err != nil || len(nodes) != 2 || nodes[1].Stopped.IsZero() || nodes[1].Dead != "" {
		t.Fatalf("b stopped cleanly: %+v, %v", nodes, err)
	}
}

// testWebSessions: sessions are found by their hash within their realm,
// expire on the next session created, and end when deleted; failed logins
// count up, are forgotten after a while and cleared by a success.
func (cs suite) testWebSessions(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	a := store(t, catalog.Options{Clock: clk, Owner: "hosta:1:a"})
	b := store(t, catalog.Options{Clock: clk, Owner: "hostb:2:b"})
	h1, h2 := [32]byte{1}, [32]byte{2}
	if err := a.CreateSession(ctx, "webmail", h1, "alice@example.com", clk.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	s, err := b.Session(ctx, "webmail", h1)
	if err != nil || s.Account != "alice@example.com" || !s.Created.Equal(clk.Now()) {
		t.Fatalf("the session through another handle: %+v, %v", s, err)
	}
	if _, err := b.Session(ctx, "admin", h1); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a webmail session in the admin realm: %v", err)
	}
	clk.Advance(time.Minute)
	if err := b.TouchSession(ctx, "webmail", h1); err != nil {
		t.Fatal(err)
	}
	if s, err = a.Session(ctx, "webmail", h1); err != nil || !s.Seen.Equal(clk.Now()) {
		t.Errorf("after a touch: %+v, %v", s, err)
	}
	clk.Advance(2 * time.Hour)
	if err := a.CreateSession(ctx, "admin", h2, "boss@example.com", clk.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, "webmail", h1); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a session idle for 2 hours survived the next creation: %v", err)
	}
	if err := b.DeleteSession(ctx, "admin", h2); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, "admin", h2); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a deleted session: %v", err)
	}

	var counts []int
	fail := func(db catalog.Catalog) {
		t.Helper()
		now := clk.Now()
		if err := db.RecordLoginFailure(ctx, "webmail:a:alice", now.Add(-24*time.Hour), func(n int) time.Time {
			counts = append(counts, n)
			return now.Add(time.Duration(n) * time.Minute)
		}); err != nil {
			t.Fatal(err)
		}
	}
	fail(a)
	fail(b)
	if until, err := a.LoginWait(ctx, "webmail:a:alice", "webmail:c:1.2.3.4"); err != nil || !until.Equal(clk.Now().Add(2*time.Minute)) {
		t.Errorf("after two failures through two handles: %v, %v", until, err)
	}
	clk.Advance(25 * time.Hour)
	fail(a)
	if err := b.ClearLoginFailures(ctx, "webmail:a:alice"); err != nil {
		t.Fatal(err)
	}
	if until, err := a.LoginWait(ctx, "webmail:a:alice"); err != nil || !until.IsZero() {
		t.Errorf("after a success: %v, %v", until, err)
	}
	if len(counts) != 3 || counts[0] != 1 || counts[1] != 2 || counts[2] != 1 {
		t.Errorf("failure counts %v, want [1 2 1] (forgotten after a day)", counts)
	}

	// A secret is made once: every handle reads the same bytes.
	k1, err := a.Secret(ctx, "device-key", 32)
	if err != nil || len(k1) != 32 || bytes.Equal(k1, make([]byte, 32)) {
		t.Fatalf("a new secret: %x, %v", k1, err)
	}
	if k2, err := b.Secret(ctx, "device-key", 32); err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("the secret through another handle: %x, %v", k2, err)
	}
	if k3, err := b.Secret(ctx, "other", 32); err != nil || bytes.Equal(k1, k3) {
		t.Errorf("another secret: %x, %v", k3, err)
	}
}

// testIMAPSlots: a server's slots go to one holder each until released,
// freed or expired; renewing keeps them.
func (cs suite) testIMAPSlots(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	a := store(t, catalog.Options{Clock: clk, Owner: "hosta:1:a"})
	b := store(t, catalog.Options{Clock: clk, Owner: "hostb:2:b"})
	lease := func() time.Time { return clk.Now().Add(time.Minute) }
	take := func(db catalog.Catalog, want int, wantOK bool) {
		t.Helper()
		slot, ok, err := db.TakeIMAPSlot(ctx, "mail:143", 2, 0, lease())
		if err != nil || ok != wantOK || (ok && slot != want) {
			t.Fatalf("take: slot %d %v %v, want %d %v", slot, ok, err, want, wantOK)
		}
	}
	take(a, 0, true)
	take(b, 1, true)
	take(a, 0, false)
	if slot, ok, err := a.TakeIMAPSlot(ctx, "other:143", 2, 1, lease()); err != nil || !ok || slot != 1 {
		t.Errorf("another server's slots are its own: %d %v %v", slot, ok, err)
	}
	if err := b.ReleaseIMAPSlot(ctx, "mail:143", 0); err != nil { // not b's: nothing
		t.Fatal(err)
	}
	take(b, 0, false)
	if err := b.ReleaseIMAPSlot(ctx, "mail:143", 1); err != nil {
		t.Fatal(err)
	}
	take(a, 1, true)
	clk.Advance(50 * time.Second)
	if err := a.RenewIMAPSlots(ctx, lease()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(50 * time.Second)
	take(b, 0, false) // renewed: still a's
	if err := b.FreeIMAPSlotsOf(ctx, "hosta:1:a"); err != nil {
		t.Fatal(err)
	}
	take(b, 0, true)
	clk.Advance(2 * time.Minute)
	take(a, 0, true) // b's lease on slot 0 ran out
}

// testTakeRestore: the job that runs a confirmed restore takes it from the
// node that confirmed it; the old owner's heartbeat then fails, and a
// restore that ended cannot be taken.
func (cs suite) testTakeRestore(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	a := store(t, catalog.Options{Clock: clk, Owner: "hosta:1:a"})
	b := store(t, catalog.Options{Clock: clk, Owner: "hostb:2:b"})
	r, _ := requestOne(t, a, clk, "alice@example.com")
	if _, err := b.TakeRestore(ctx, r.ID); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("taking a pending request: %v, want ErrRestoreState", err)
	}
	if err := a.ConfirmRestore(ctx, r.ID, "boss@example.com", nil); err != nil {
		t.Fatal(err)
	}
	got, err := b.TakeRestore(ctx, r.ID)
	if err != nil || got.ID != r.ID || got.Status != catalog.RestoreRunning {
		t.Fatalf("taking the confirmed request: %+v, %v", got, err)
	}
	if err := a.HeartbeatRestore(ctx, r.ID, nil); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("the confirming node's heartbeat: %v, want ErrRestoreState", err)
	}
	if err := b.FinishRestore(ctx, r.ID, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TakeRestore(ctx, r.ID); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("taking a finished request: %v, want ErrRestoreState", err)
	}
}

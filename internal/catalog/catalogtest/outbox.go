package catalogtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

func testMail(key string) catalog.OutboxMail {
	return catalog.OutboxMail{Key: key, Kind: "test", MessageID: key + "@mtm.test", From: "mtm@example.com",
		To: "alice@example.com", Subject: "s " + key, Body: []byte("Subject: s\r\n\r\nhi\r\n")}
}

func (cs suite) testOutboxEnqueueIsIdempotentAndTransactional(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:a")

	if n, err := db.EnqueueMail(ctx, testMail("a"), testMail("b")); err != nil || n != 2 {
		t.Fatalf("enqueue: %d, %v", n, err)
	}
	again := testMail("a")
	again.MessageID = "other@mtm.test"
	if n, err := db.EnqueueMail(ctx, again); err != nil || n != 0 {
		t.Fatalf("enqueue of a known key: %d, %v; want 0, nil", n, err)
	}
	// A decision that fails after enqueueing leaves no mail behind.
	rejectFailsAfterEnqueueing(t, db, clk, testMail("c"))
	bad := testMail("d")
	bad.To = "x@example.com\r\nRCPT TO:<y@example.com>"
	if _, err := db.EnqueueMail(ctx, bad); err == nil {
		t.Error("an envelope address with CRLF was accepted")
	}
	st, err := db.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 2 || st.Backlog() != 2 || st.Undelivered() != 2 || !st.OldestUndelivered.Equal(clk.Now()) {
		t.Errorf("stats %+v, want 2 pending since now", st)
	}
}

func (cs suite) testOutboxTransitionsAndRecovery(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:a")
	if _, err := db.EnqueueMail(ctx, testMail("a"), testMail("b"), testMail("c")); err != nil {
		t.Fatal(err)
	}
	due, err := db.DueMail(ctx, clk.Now(), 10)
	if err != nil || len(due) != 3 || string(due[0].Body) == "" {
		t.Fatalf("due: %d, %v", len(due), err)
	}
	a, b, c := due[0].ID, due[1].ID, due[2].ID
	lease := clk.Now().Add(10 * time.Minute)
	for _, id := range []int64{a, b, c} {
		if ok, err := db.ClaimMail(ctx, id, lease); err != nil || !ok {
			t.Fatalf("claim %d: %v %v", id, ok, err)
		}
	}
	if ok, err := db.ClaimMail(ctx, a, lease); err != nil || ok {
		t.Fatalf("second claim of %d: %v %v, want false", a, ok, err)
	}
	if err := db.MarkMailDot(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkMailSent(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkMailSent(ctx, a); !errors.Is(err, catalog.ErrMailNotClaimed) {
		t.Errorf("second completion: %v, want catalog.ErrMailNotClaimed", err)
	}
	if err := db.FailMail(ctx, b, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkMailDot(ctx, c); err != nil {
		t.Fatal(err)
	}

	// Another process takes over after the lease: c is sent again, flagged.
	clk.Advance(11 * time.Minute)
	if n, err := db.RecoverMail(ctx); err != nil || n != 1 {
		t.Fatalf("recover: %d, %v", n, err)
	}
	e, err := db.OutboxMail(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if e.State != catalog.MailPending || !e.MaybeDuplicate || e.Attempts != 1 || e.LastError == "" {
		t.Errorf("recovered mail %+v", e)
	}
	und, err := db.UndeliveredMail(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(und) != 2 || und[0].ID != b || und[0].LastError != "550 no such user" || und[1].ID != c {
		t.Errorf("undelivered %+v, want b (failed) then c", und)
	}
	if err := db.RequeueMail(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := db.RequeueMail(ctx, b); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("requeue of a pending mail: %v", err)
	}
	if n, err := db.DeleteSentMail(ctx, clk.Now()); err != nil || n != 1 {
		t.Errorf("delete sent: %d, %v", n, err)
	}
}

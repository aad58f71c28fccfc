package outbox

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// TestRestartMidBacklog stops the process (closes the catalog) after part
// of the backlog went out, with one mail claimed and one past its final dot
// when it died; a new process delivers the rest, each exactly once, and
// resends only the one the server may have seen, flagged.
func TestRestartMidBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	path := filepath.Join(t.TempDir(), "catalog.db")
	ms := newMailServer(t)
	ms.start()

	db := openCatalog(t, path, clk, "h:1:first")
	want := enqueue(t, db, clk, 1, 10)
	s := newSender(db, ms, clk, Options{Batch: 4})
	if res, err := s.RunOnce(ctx); err != nil || res.Sent != 4 || !res.Next.Equal(clk.Now()) {
		t.Fatalf("first round: %+v, %v", res, err)
	}
	// The process dies in the middle of two attempts: one claimed before
	// any byte was sent, one after the catalog recorded the final dot
	// (the server never got it here, so one copy arrives in all).
	due, err := db.DueMail(ctx, clk.Now(), 2)
	if err != nil || len(due) != 2 {
		t.Fatalf("due: %d, %v", len(due), err)
	}
	for _, e := range due {
		if ok, err := db.ClaimMail(ctx, e.ID, clk.Now().Add(15*time.Minute)); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
	}
	if err := db.MarkMailDot(ctx, due[1].ID); err != nil {
		t.Fatal(err)
	}
	closeCatalog(t, db)

	clk.Advance(time.Minute)
	db = openCatalog(t, path, clk, "h:1:second")
	defer closeCatalog(t, db)
	s = newSender(db, ms, clk, Options{Batch: 4})
	sent := 0
	for range 3 {
		res, err := s.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent += res.Sent
	}
	if sent != 4 {
		t.Fatalf("before the lease ran out the new process sent %d, want the 4 unclaimed", sent)
	}
	if st := stats(t, db); st.Sending != 2 || st.Backlog() != 2 {
		t.Fatalf("stats %+v, want the 2 interrupted mails still held", st)
	}
	clk.Advance(15 * time.Minute)
	if res, err := s.RunOnce(ctx); err != nil || res.Sent != 2 || !res.Next.IsZero() {
		t.Fatalf("after the lease: %+v, %v", res, err)
	}
	checkDelivered(t, ms, want)
	first, err := db.OutboxMail(ctx, due[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.OutboxMail(ctx, due[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if first.MaybeDuplicate || !second.MaybeDuplicate || first.Attempts != 2 || second.State != catalog.MailSent {
		t.Errorf("interrupted mails: %+v / %+v; only the one past its dot may be a duplicate", first, second)
	}
}

// TestReplyLostAfterDot: the server accepts a mail but the connection
// drops before its reply. The mail is sent again with the same Message-ID
// and flagged: the documented at-least-once window.
func TestReplyLostAfterDot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	db := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"), clk, "h:1:a")
	defer closeCatalog(t, db)
	ms := newMailServer(t)
	ms.dropOnce = true
	ms.start()
	want := enqueue(t, db, clk, 1, 2)
	s := newSender(db, ms, clk, Options{})
	res, err := s.RunOnce(ctx)
	if err != nil || res.Sent != 0 || res.Retried != 1 || !res.Next.Equal(clk.Now()) {
		t.Fatalf("round: %+v, %v; want the first mail retried and the second still due", res, err)
	}
	res, err = s.RunOnce(ctx)
	if err != nil || res.Sent != 1 {
		t.Fatalf("second round: %+v, %v", res, err)
	}
	clk.Advance(30 * time.Second)
	if res, err = s.RunOnce(ctx); err != nil || res.Sent != 1 {
		t.Fatalf("third round: %+v, %v", res, err)
	}
	got := ms.received()
	if len(got) != 3 {
		t.Fatalf("server kept %d messages, want 3 (one twice)", len(got))
	}
	und, err := db.UndeliveredMail(ctx, 10)
	if err != nil || len(und) != 0 {
		t.Fatalf("undelivered %v, %v", und, err)
	}
	dups := 0
	for id := range want {
		n := 0
		for _, r := range got {
			if string(r.Data) == string(want[id].Body) {
				n++
			}
		}
		if n == 2 {
			dups++
		}
	}
	if dups != 1 {
		t.Errorf("%d mails arrived twice, want exactly the one whose reply was lost", dups)
	}
}

// TestPermanentRefusal: a 5xx to RCPT fails that mail (listed undelivered
// with the reply) without holding up the others; an admin's requeue sends
// it once the server takes it.
func TestPermanentRefusal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	db := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"), clk, "h:1:a")
	defer closeCatalog(t, db)
	ms := newMailServer(t)
	ms.rcptErr["user2@example.com"] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	ms.start()
	want := enqueue(t, db, clk, 1, 3)
	s := newSender(db, ms, clk, Options{})
	res, err := s.RunOnce(ctx)
	if err != nil || res.Sent != 2 || res.Failed != 1 || !res.Next.IsZero() {
		t.Fatalf("round: %+v, %v", res, err)
	}
	und, err := db.UndeliveredMail(ctx, 10)
	if err != nil || len(und) != 1 || und[0].State != catalog.MailFailed || und[0].To != "user2@example.com" {
		t.Fatalf("undelivered %+v, %v", und, err)
	}
	if st := stats(t, db); st.Backlog() != 0 || st.Undelivered() != 1 || st.Failed != 1 {
		t.Errorf("stats %+v", st)
	}
	clk.Advance(24 * time.Hour)
	if res, err := s.RunOnce(ctx); err != nil || res.Sent+res.Failed+res.Retried != 0 {
		t.Fatalf("a failed mail was tried again by itself: %+v, %v", res, err)
	}
	ms.set(func(m *mailServer) { delete(m.rcptErr, "user2@example.com") })
	if err := db.RequeueMail(ctx, und[0].ID); err != nil {
		t.Fatal(err)
	}
	if res, err := s.RunOnce(ctx); err != nil || res.Sent != 1 {
		t.Fatalf("after requeue: %+v, %v", res, err)
	}
	checkDelivered(t, ms, want)
}

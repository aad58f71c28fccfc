package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"mtm/internal/testenv/postgres"
	"mtm/internal/testenv/smtpcapture"
)

// TestJobsSMTPDownThenUp: on a PostgreSQL catalog, where emails go out
// by the job queue's outbox rounds, a restore is requested while the SMTP
// server is down: the admin's email waits in the outbox with its error;
// once the server is up it arrives, once, and the restore's email to the
// user follows.
func TestJobsSMTPDownThenUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve")
	}
	t.Parallel()
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	for i := range 5 {
		e.dc.Append(t, alice, "INBOX", []byte(fmt.Sprintf("Subject: m%d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n", i, i, i)),
			nil, time.Time{})
	}
	if e.catalogURL == "" {
		e.setCatalog(postgres.Shared(t).Database(t))
	}
	smtpAddr := smtpcapture.FreeAddr(t) // nothing listens: the mail server is down
	withSMTPAt(t, e, smtpAddr)
	e.mustMTM("snapshot")
	snap := e.snapshots(alice)[0]
	db, err := pgxpool.New(context.Background(), e.catalogURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)

	p := startServe(t, e)
	c := e.dc.Dial(t, alice)
	expunge(t, c, "INBOX", 1, 2)
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	user := p.client()
	if code := user.do("POST", "/api/v1/session", map[string]string{"email": alice, "password": "pw-" + alice}, nil); code != 200 {
		t.Fatalf("user login: %d", code)
	}
	var req struct{ ID int64 }
	in := map[string]any{"snapshot": snap.ID, "folders": []string{}, "target": "original"}
	if code := user.do("POST", "/api/v1/restores", in, &req); code != 201 {
		t.Fatalf("request: %d", code)
	}
	var attempts int
	var lastErr string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		err := db.QueryRow(context.Background(), `SELECT attempts, last_error FROM outbox WHERE rcpt = 'boss@example.com'`).
			Scan(&attempts, &lastErr)
		if err == nil && attempts > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admin's email was never tried while the server was down (%v)\n%s", err, p.output())
		}
	}
	t.Logf("while down: %d attempts, %q", attempts, lastErr)

	smtp := smtpcapture.StartAt(t, smtpAddr) // the server is back
	waitMailFor(t, smtp, "boss@example.com", 1, 2*time.Minute)
	adm := p.client()
	if code := adm.do("POST", "/api/v1/admin/session", map[string]string{"email": "boss@example.com", "password": adminPassword}, nil); code != 200 {
		t.Fatalf("admin login: %d", code)
	}
	if code := adm.do("POST", fmt.Sprintf("/api/v1/admin/restores/%d/confirm", req.ID), map[string]string{"reauth": adminPassword}, nil); code != 200 {
		t.Fatalf("confirm: %d", code)
	}
	waitMailFor(t, smtp, alice, 2, time.Minute)
	time.Sleep(2 * time.Second) // time for another email, if any were sent
	if a, u := len(smtp.To("boss@example.com")), len(smtp.To(alice)); a != 1 || u != 2 {
		t.Errorf("the admin received %d emails and the user %d, want 1, and 2 (the receipt and the outcome)", a, u)
	}
	if n := e.countJobs(db, "outbox", "completed"); n == 0 {
		t.Error("no outbox round ran as a job")
	}
	p.term()
}

// waitMailFor waits up to d until rcpt has received n emails.
func waitMailFor(t *testing.T, s *smtpcapture.Server, rcpt string, n int, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); len(s.To(rcpt)) < n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d emails in %s, want %d", rcpt, len(s.To(rcpt)), d, n)
		}
	}
}

// countJobs counts the jobs of a kind in a state.
func (e *e2e) countJobs(db *pgxpool.Pool, kind, state string) int {
	e.t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = $1 AND state = $2`,
		kind, state).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

package outbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/notify"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func openCatalog(t *testing.T, path string, clk clock.Clock, owner string) *catalog.DB {
	t.Helper()
	db, err := catalog.Open(context.Background(), path, catalog.Options{Clock: clk, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func closeCatalog(t *testing.T, db *catalog.DB) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// enqueue renders n rejection emails (ids from first) and puts them in the
// outbox, returning them by Message-ID.
func enqueue(t *testing.T, db *catalog.DB, clk clock.Clock, first, n int) map[string]catalog.OutboxMail {
	t.Helper()
	cfg := config.Default()
	cfg.SMTP.From = "Mail Time Machine <mtm@example.com>"
	r, err := notify.New(cfg, notify.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]catalog.OutboxMail{}
	var mails []catalog.OutboxMail
	for i := first; i < first+n; i++ {
		m, err := r.RestoreRejected(notify.RestoreRejected{ID: int64(i), Account: fmt.Sprintf("user%d@example.com", i),
			Day: "2026-02-27", Reason: "Ünïcode reason\r\n.\r\nwith a lone dot line"})
		if err != nil {
			t.Fatal(err)
		}
		mails = append(mails, m)
		out[m.MessageID] = m
	}
	if added, err := db.EnqueueMail(context.Background(), mails...); err != nil || added != n {
		t.Fatalf("enqueue: %d, %v", added, err)
	}
	return out
}

func newSender(db Store, ms *mailServer, clk clock.Clock, opts Options) *Sender {
	opts.Clock = clk
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.SMTP{Address: ms.addr, TLS: config.TLSNone}
	if ms.user != "" {
		cfg.Username, cfg.Password = ms.user, "secret"
	}
	return New(db, cfg, opts)
}

// checkDelivered checks the server got each mail of want exactly once, byte
// for byte, with its envelope, and nothing else.
func checkDelivered(t *testing.T, ms *mailServer, want map[string]catalog.OutboxMail) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range ms.received() {
		h, err := mail.CreateReader(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		id, err := h.Header.MessageID()
		if err != nil {
			t.Fatal(err)
		}
		seen[id]++
		w, ok := want[id]
		switch {
		case !ok:
			t.Errorf("unexpected message %s", id)
		case !bytes.Equal(r.Data, w.Body):
			t.Errorf("message %s arrived changed", id)
		case r.From != w.From || len(r.To) != 1 || r.To[0] != w.To:
			t.Errorf("message %s envelope %s -> %v, want %s -> %s", id, r.From, r.To, w.From, w.To)
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("message %s delivered %d times, want once", id, seen[id])
		}
	}
}

func stats(t *testing.T, db *catalog.DB) catalog.OutboxStats {
	t.Helper()
	s, err := db.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeliversInEveryTLSMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []config.TLSMode{config.TLSNone, config.TLSStartTLS, config.TLSImplicit} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clk := clock.NewFake(t0)
			db := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"), clk, "h:1:a")
			defer closeCatalog(t, db)
			ms := newMailServer(t)
			ms.user = "mtm"
			var client = Options{}
			if mode != config.TLSNone {
				ms.tls, client.TLSConfig = testCert(t)
				ms.implicit = mode == config.TLSImplicit
			}
			ms.start()
			want := enqueue(t, db, clk, 1, 3)
			s := newSender(db, ms, clk, client)
			s.cfg.TLS = mode
			res, err := s.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != 3 || !res.Next.IsZero() {
				t.Errorf("round %+v, want 3 sent and nothing pending", res)
			}
			checkDelivered(t, ms, want)
			if st := stats(t, db); st.Sent != 3 || st.Undelivered() != 0 {
				t.Errorf("stats %+v", st)
			}
			if mode != config.TLSStartTLS && ms.sessions != 1 { // STARTTLS starts a second session
				t.Errorf("%d SMTP sessions, want one for the batch", ms.sessions)
			}
		})
	}
}

func TestBackoffSchedule(t *testing.T) {
	t.Parallel()
	s := New(nil, config.SMTP{}, Options{})
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour, time.Hour}
	for i, w := range want {
		if got := s.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := s.Backoff(1000); got != time.Hour {
		t.Errorf("Backoff(1000) = %s", got)
	}
}

// TestServerDownThenUp: the server is down, then answers 4xx, then works;
// attempts follow the backoff on a fake clock and each mail arrives once.
func TestServerDownThenUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	db := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"), clk, "h:1:a")
	defer closeCatalog(t, db)
	ms := newMailServer(t)
	ms.start()
	ms.stop() // the address is known, nothing listens
	want := enqueue(t, db, clk, 1, 3)
	s := newSender(db, ms, clk, Options{})

	round := func(wantAttempts int, wantNext time.Duration) {
		t.Helper()
		res, err := s.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 0 || !res.Next.Equal(clk.Now().Add(wantNext)) {
			t.Fatalf("round at %s: %+v, want nothing sent and next in %s", clk.Now(), res, wantNext)
		}
		und, err := db.UndeliveredMail(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range und {
			if e.Attempts != wantAttempts || e.LastError == "" {
				t.Fatalf("mail %d: %d attempts (%q), want %d", e.ID, e.Attempts, e.LastError, wantAttempts)
			}
		}
	}
	round(1, 30*time.Second) // refused: first attempt, retry in 30s
	if und, _ := db.UndeliveredMail(ctx, 10); !strings.Contains(und[0].LastError, "connect") {
		t.Errorf("last error %q does not say the server was unreachable", und[0].LastError)
	}
	clk.Advance(29 * time.Second)
	round(1, time.Second) // not due yet: no attempt
	clk.Advance(time.Second)
	round(2, time.Minute)
	clk.Advance(time.Minute)
	round(3, 2*time.Minute)

	// Up, but deferring every message with 451.
	ms.set(func(m *mailServer) { m.dataErr = &smtp.SMTPError{Code: 451, Message: "try later"} })
	ms.start()
	clk.Advance(2 * time.Minute)
	round(4, 4*time.Minute)
	if und, _ := db.UndeliveredMail(ctx, 10); !strings.Contains(und[0].LastError, "451") {
		t.Errorf("last error %q, want the 451", und[0].LastError)
	}
	if len(ms.received()) != 0 {
		t.Fatal("a deferred message was kept")
	}

	ms.set(func(m *mailServer) { m.dataErr = nil })
	clk.Advance(4 * time.Minute)
	res, err := s.RunOnce(ctx)
	if err != nil || res.Sent != 3 || !res.Next.IsZero() {
		t.Fatalf("round after recovery: %+v, %v", res, err)
	}
	for range 3 {
		clk.Advance(time.Hour)
		if res, err := s.RunOnce(ctx); err != nil || res.Sent != 0 {
			t.Fatalf("later round: %+v, %v", res, err)
		}
	}
	checkDelivered(t, ms, want)
}

// TestRunDeliversAfterOutage runs the real loop on the real clock while
// the server is down, then brings it up.
func TestRunDeliversAfterOutage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.Real{}
	db := openCatalog(t, filepath.Join(t.TempDir(), "catalog.db"), clk, "h:1:a")
	defer closeCatalog(t, db)
	ms := newMailServer(t)
	ms.start()
	ms.stop()
	want := enqueue(t, db, clk, 1, 5)
	s := newSender(db, ms, clk, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	waitFor(t, func() bool {
		und, err := db.UndeliveredMail(ctx, 10)
		return err == nil && len(und) == 5 && und[0].Attempts >= 3
	})
	ms.start()
	s.Wake()
	waitFor(t, func() bool { return stats(t, db).Sent == 5 })
	more := enqueue(t, db, clk, 100, 2) // mail enqueued while running goes out on Wake
	s.Wake()
	waitFor(t, func() bool { return stats(t, db).Sent == 7 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for k, v := range more {
		want[k] = v
	}
	checkDelivered(t, ms, want)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached within 10s")
}

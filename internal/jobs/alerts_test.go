package jobs

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/notify"
	"mtm/internal/scheduler"
	"mtm/internal/testenv/postgres"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := postgres.StopShared(); err != nil {
		code = 1
	}
	os.Exit(code)
}

// TestAlerts: on a real PostgreSQL catalog, a night whose rate so far ends
// it after its window, and a prune that failed for good in a past quarter
// of an hour, give the operators one email each; looking again (the next
// minute's job) queues nothing more.
func TestAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	db, err := catalog.OpenPostgres(ctx, postgres.Shared(t).Database(t), 4, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	now := time.Now().UTC()
	fire := now.Add(-2 * time.Hour)
	sched := scheduler.Schedule{Location: time.UTC, Hour: fire.Hour(), Minute: fire.Minute()}
	cfg := config.Default()
	cfg.SMTP.From = "mtm@example.com"
	mailer, err := notify.New(cfg, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := New(Options{Pool: db.Pool(), Nodes: db, Schedule: sched, Clock: clock.Real{},
		Cluster: config.Cluster{NightWindow: time.Hour, Operators: []string{"ops@example.com"}},
		Mailer:  mailer, Mail: db})
	if err != nil {
		t.Fatal(err)
	}
	f := sched.Prev(now)
	night := sched.Night(f)
	for i := range 10 {
		if _, err := q.client.Insert(ctx, SnapshotArgs{Account: string(rune('a'+i)) + "@example.com", Night: night, Fire: f}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Half the night done in its first 100 minutes: the rest takes as long,
	// past the window's end an hour after the fire time.
	if _, err := db.Pool().Exec(ctx, `UPDATE river_job SET created_at = now() - interval '100 minutes'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now()
		WHERE id IN (SELECT id FROM river_job ORDER BY id LIMIT 5)`); err != nil {
		t.Fatal(err)
	}
	res, err := q.client.Insert(ctx, PruneArgs{Night: "2026-01-01"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE river_job SET state = 'discarded', attempt = 3,
		finalized_at = date_bin('15 minutes', now(), TIMESTAMPTZ '2000-01-01 00:00:00+00') - interval '5 minutes',
		errors = ARRAY['{"at": "2026-01-01T00:00:00Z", "attempt": 3, "error": "the blob store is gone", "trace": ""}'::jsonb]
		WHERE id = $1`, res.Job.ID); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		if err := q.Alerts(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mails, err := db.DueMail(ctx, time.Now().Add(time.Hour), 100) // with their bodies
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Subject)
	}
	want := []string{"The night of " + night + " will miss its window", "1 jobs failed for good"}
	if strings.Join(subjects, "|") != strings.Join(want, "|") {
		t.Errorf("queued %q, want %q", subjects, want)
	}
	for _, m := range mails {
		body := strings.NewReplacer("=\r\n", "", "=\n", "").Replace(string(m.Body)) // quoted-printable's soft breaks
		if m.Subject == want[1] && !strings.Contains(body, "the blob store is gone") {
			t.Errorf("the failed job's email lacks its error:\n%s", body)
		}
	}
}

package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/restore"
	"mtm/internal/scheduler"
	"mtm/internal/snapshot"
	"mtm/internal/testenv/dovecot"
)

// oneNight is the scheduler's clock in the test: it reads a fake clock
// and, when the scheduler goes to sleep until the next night, ends the
// run instead.
type oneNight struct {
	*clock.Fake
	cancel func()
}

func (c oneNight) SleepUntil(ctx context.Context, _ time.Time) error {
	c.cancel()
	return ctx.Err()
}

func testMail(i int) []byte {
	return fmt.Appendf(nil, "From: Carol <carol@example.com>\r\nTo: alice@example.com\r\nSubject: note %d\r\n"+
		"Date: Fri, 01 May 2026 10:00:00 +0200\r\nMessage-ID: <note-%d@example.com>\r\n\r\nbody %d\r\n", i, i, i)
}

// TestMetricsOnDovecot scrapes /metrics around a real night of the
// scheduler over a private Dovecot (one account backed up, one that the
// server refuses), a restore of a deleted folder and a queued email, and
// checks that every counter and gauge moved by what happened.
func TestMetricsOnDovecot(t *testing.T) {
	ctx := context.Background()
	dc := dovecot.Start(t)
	const alice, ghost = "alice@example.com", "ghost@example.com" // ghost has no mailbox
	dc.AddUser(t, alice, "pw")
	date := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var size int
	for i, folder := range []string{"INBOX", "INBOX", "Archive"} {
		dc.Append(t, alice, folder, testMail(i), nil, date)
		size += len(testMail(i))
	}
	dir := t.TempDir()
	fake := clock.NewFake(time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC))
	cat, err := catalog.Open(ctx, filepath.Join(dir, "catalog.db"), catalog.Options{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(prometheus.NewRegistry(), Options{Outbox: cat, Store: cat, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()

	before := scrape(t, srv.URL+"/metrics")
	before.expect(map[string]float64{
		"mtm_snapshot_duration_seconds{outcome=ok}": 0, "mtm_snapshot_failures_total": 0,
		"mtm_restores_total{outcome=done}": 0, "mtm_outbox_backlog": 0, "mtm_accounts": 0, "mtm_store_blobs": 0,
	})

	server := dc.IMAPServer()
	runNight(t, dc, cat, blobs, server, fake, m, alice, ghost)

	snap := lastSnapshot(t, cat, alice)
	restoreArchive(t, dc, cat, blobs, server, snap, m)
	if _, err := cat.EnqueueMail(ctx, catalog.OutboxMail{Key: "test/1", Kind: "restore-done", MessageID: "1@mtm.test",
		From: "mtm@example.org", To: alice, Subject: "done", Body: []byte("Subject: done\r\n\r\ndone\r\n")}); err != nil {
		t.Fatal(err)
	}

	fake.Advance(2 * time.Minute) // past the store gauges' cache
	after := scrape(t, srv.URL+"/metrics")
	after.expect(map[string]float64{
		"mtm_snapshot_duration_seconds{outcome=ok}":     1,
		"mtm_snapshot_duration_seconds{outcome=failed}": 1,
		"mtm_snapshot_failures_total":                   1,
		"mtm_snapshot_fetched_messages_total":           3,
		"mtm_snapshot_fetched_bytes_total":              float64(size),
		"mtm_snapshot_new_blobs_total":                  3,
		"mtm_night_failed_accounts":                     1,
		"mtm_restores_total{outcome=done}":              1,
		"mtm_outbox_backlog":                            1,
		"mtm_accounts":                                  2,
		"mtm_accounts_failing":                          1,
		"mtm_backup_messages":                           3,
		"mtm_backup_bytes":                              float64(size),
		"mtm_store_blobs":                               3,
		"mtm_http_request_duration_seconds{method=get,route=GET /metrics,code=200}": 1,
	})
	if v := after.value("mtm_snapshot_new_blob_bytes_total"); v <= 0 {
		t.Errorf("mtm_snapshot_new_blob_bytes_total = %v, want > 0", v)
	}
	if v := after.value("mtm_night_last_finished_timestamp_seconds"); v != float64(fake.Now().Add(-2*time.Minute).Unix()) {
		t.Errorf("mtm_night_last_finished_timestamp_seconds = %v", v)
	}
}

// runNight runs one night of the scheduler, with m as its observer, over
// the given accounts.
func runNight(t *testing.T, dc *dovecot.Server, cat *catalog.DB, blobs *blobstore.Local, server imapconn.Server,
	fake *clock.Fake, m *Metrics, accounts ...string) {
	t.Helper()
	list := filepath.Join(t.TempDir(), "accounts.txt")
	content := ""
	for _, a := range accounts {
		content += a + "\n"
	}
	if err := os.WriteFile(list, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	eng := snapshot.New(cat, blobs, snapshot.Options{Server: server, Clock: fake})
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := scheduler.New(scheduler.Options{
		Schedule: scheduler.Schedule{Location: time.UTC, Hour: 0, Minute: 30},
		Clock:    oneNight{Fake: fake, cancel: cancel},
		Accounts: scheduler.AccountsFile(list), Engine: eng, Catalog: cat, Observer: m,
		Retry: scheduler.Retry{Attempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(runCtx); !errors.Is(err, context.Canceled) {
		t.Fatalf("scheduler: %v", err)
	}
}

func lastSnapshot(t *testing.T, cat *catalog.DB, address string) catalog.Snapshot {
	t.Helper()
	ctx := context.Background()
	acct, err := cat.LookupAccount(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := cat.Snapshots(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if snaps[i].State == catalog.StateCommitted {
			return snaps[i]
		}
	}
	t.Fatalf("%s has no committed snapshot: %+v", address, snaps)
	return catalog.Snapshot{}
}

// restoreArchive deletes the live Archive folder, brings it back from snap
// and records the outcome in m, as the restore flow does.
func restoreArchive(t *testing.T, dc *dovecot.Server, cat *catalog.DB, blobs *blobstore.Local,
	server imapconn.Server, snap catalog.Snapshot, m *Metrics) {
	t.Helper()
	ctx := context.Background()
	c := dc.Dial(t, "alice@example.com")
	if err := c.Delete("Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	cn, err := imapconn.Dial(ctx, server, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	plan, err := restore.MakePlan(ctx, cat, cn, restore.Request{Snapshot: snap, Folders: []string{"Archive"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Execute(ctx, cat, blobs, []*imapconn.Conn{cn}, nil)
	if err == nil && (res.Appended != 1 || res.Created != 1) {
		err = fmt.Errorf("restored %d messages and %d folders, want 1 and 1", res.Appended, res.Created)
	}
	m.RestoreFinished(err)
	if err != nil {
		t.Fatal(err)
	}
}

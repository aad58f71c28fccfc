package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/scheduler"
	"mtm/internal/snapshot"
)

func newMetrics(t *testing.T, opts Options) *Metrics {
	t.Helper()
	m, err := New(prometheus.NewRegistry(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEventsMoveCounters(t *testing.T) {
	m := newMetrics(t, Options{NoProcess: true})
	before := scrapeHandler(t, m.Handler())
	before.expect(map[string]float64{ // every outcome exists at zero
		"mtm_snapshot_duration_seconds{outcome=ok}":     0,
		"mtm_snapshot_duration_seconds{outcome=failed}": 0,
		"mtm_restores_total{outcome=done}":              0,
		"mtm_restores_total{outcome=failed}":            0,
		"mtm_restores_total{outcome=rejected}":          0,
		"mtm_night_errors_total{stage=prune}":           0,
	})

	ok := snapshot.Result{Address: "a@example.com", Duration: 90 * time.Second, Snapshot: catalog.Snapshot{
		State: catalog.StateCommitted, FetchedMessages: 10, FetchedBytes: 5000, NewBlobs: 7, NewBlobBytes: 2000}}
	m.Snapshot(ok, 1)
	m.Snapshot(snapshot.Result{Address: "b@example.com", Duration: 3 * time.Second, Err: errors.New("login refused")}, 1)
	m.Snapshot(ok, 2) // a retry that worked
	m.Snapshot(snapshot.Result{Address: "c@example.com", Err: fmt.Errorf("stopping: %w", context.Canceled)}, 1)
	fin := time.Date(2026, 5, 2, 1, 0, 0, 0, time.UTC)
	m.Night(scheduler.NightReport{Started: fin.Add(-time.Hour), Finished: fin, Failed: 1, PruneErr: errors.New("disk")})
	m.Night(scheduler.NightReport{Err: errors.New("accounts file missing")})
	m.RestoreFinished(nil)
	m.RestoreFinished(errors.New("the server refused 2 messages"))
	m.RestoreFinished(context.Canceled) // resumes later: no outcome yet
	m.RestoreRejected()

	after := scrapeHandler(t, m.Handler())
	after.expect(map[string]float64{
		"mtm_snapshot_duration_seconds{outcome=ok}":     2,
		"mtm_snapshot_duration_seconds{outcome=failed}": 1,
		"mtm_snapshot_failures_total":                   1,
		"mtm_snapshot_retries_total":                    1,
		"mtm_snapshot_fetched_messages_total":           20,
		"mtm_snapshot_fetched_bytes_total":              10000,
		"mtm_snapshot_new_blobs_total":                  14,
		"mtm_snapshot_new_blob_bytes_total":             4000,
		"mtm_night_last_finished_timestamp_seconds":     float64(fin.Unix()),
		"mtm_night_duration_seconds":                    3600,
		"mtm_night_failed_accounts":                     1,
		"mtm_night_errors_total{stage=prune}":           1,
		"mtm_night_errors_total{stage=night}":           1,
		"mtm_restores_total{outcome=done}":              1,
		"mtm_restores_total{outcome=failed}":            1,
		"mtm_restores_total{outcome=rejected}":          1,
	})
	h := after.series("mtm_snapshot_duration_seconds", "outcome=ok").GetHistogram()
	if h.GetSampleSum() != 180 {
		t.Errorf("ok duration sum = %v, want 180", h.GetSampleSum())
	}
	for _, b := range h.GetBucket() {
		if want := map[bool]uint64{true: 0, false: 2}[b.GetUpperBound() < 90]; b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if strings.Contains(after.text, "example.com") {
		t.Error("an account address reached the exposition")
	}
}

func TestProcessCollectors(t *testing.T) {
	e := scrapeHandler(t, newMetrics(t, Options{}).Handler())
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if e.fams[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
}

func TestTwoRegistries(t *testing.T) {
	// Nothing is global: two sets of metrics count apart.
	a, b := newMetrics(t, Options{}), newMetrics(t, Options{})
	a.RestoreRejected()
	if got := scrapeHandler(t, b.Handler()).value("mtm_restores_total", "outcome=rejected"); got != 0 {
		t.Errorf("b counts a's rejection: %v", got)
	}
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Options{NoProcess: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg, Options{NoProcess: true}); err == nil {
		t.Error("registering twice on one registry succeeded")
	}
}

type fakeOutbox struct {
	st  catalog.OutboxStats
	err error
}

func (f *fakeOutbox) OutboxStats(context.Context) (catalog.OutboxStats, error) { return f.st, f.err }

type fakeStore struct {
	status []catalog.AccountStatus
	blobs  int
	err    error
	reads  int
}

func (f *fakeStore) BackupStatus(context.Context) ([]catalog.AccountStatus, error) {
	f.reads++
	return f.status, f.err
}

func (f *fakeStore) CountRows(_ context.Context, table string) (int, error) {
	if table != "contents" {
		return 0, fmt.Errorf("unexpected table %q", table)
	}
	return f.blobs, f.err
}

func TestScrapedGauges(t *testing.T) {
	queued := time.Date(2026, 5, 1, 23, 0, 0, 0, time.UTC)
	ob := &fakeOutbox{st: catalog.OutboxStats{Pending: 2, Sending: 1, Failed: 4, Sent: 9, OldestUndelivered: queued}}
	old := time.Date(2026, 4, 28, 0, 0, 0, 0, time.UTC)
	st := &fakeStore{blobs: 1234, status: []catalog.AccountStatus{
		{Address: "a@x", LastSuccess: catalog.Snapshot{ID: 7, TakenAt: old.Add(48 * time.Hour), Messages: 100, Bytes: 1 << 20}},
		{Address: "b@x", LastSuccess: catalog.Snapshot{ID: 3, TakenAt: old, Messages: 5, Bytes: 500}, FailingNights: 3, LastError: "refused"},
		{Address: "c@x"}, // never backed up
	}}
	clk := clock.NewFake(queued)
	var logs bytes.Buffer
	m := newMetrics(t, Options{Outbox: ob, Store: st, Clock: clk, StoreEvery: time.Minute, NoProcess: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	want := map[string]float64{
		"mtm_outbox_backlog": 3, "mtm_outbox_failed": 4,
		"mtm_outbox_oldest_undelivered_timestamp_seconds": float64(queued.Unix()),
		"mtm_accounts": 3, "mtm_accounts_failing": 1, "mtm_backup_messages": 105, "mtm_backup_bytes": 1<<20 + 500,
		"mtm_backup_oldest_success_timestamp_seconds": float64(old.Unix()), "mtm_store_blobs": 1234,
	}
	scrapeHandler(t, m.Handler()).expect(want)

	// The outbox is read at every scrape, the store at most once a minute.
	ob.st = catalog.OutboxStats{}
	st.blobs = 2000
	want["mtm_outbox_backlog"], want["mtm_outbox_failed"], want["mtm_outbox_oldest_undelivered_timestamp_seconds"] = 0, 0, 0
	scrapeHandler(t, m.Handler()).expect(want)
	if st.reads != 1 {
		t.Errorf("backup status read %d times within a minute, want 1", st.reads)
	}
	clk.Advance(time.Minute)
	want["mtm_store_blobs"] = 2000
	scrapeHandler(t, m.Handler()).expect(want)

	// A catalog that fails leaves its gauges out; the rest is served.
	ob.err = errors.New("database is locked")
	st.err = errors.New("database is locked")
	clk.Advance(time.Minute)
	e := scrapeHandler(t, m.Handler())
	for _, name := range []string{"mtm_outbox_backlog", "mtm_accounts"} {
		if e.fams[name] != nil {
			t.Errorf("%s served although the catalog failed", name)
		}
	}
	if e.fams["mtm_restores_total"] == nil {
		t.Error("event counters not served while the catalog fails")
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("the scrape error was not logged: %q", logs.String())
	}
}

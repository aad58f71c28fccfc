package webmail

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/search"
	"mtm/internal/testenv/mailstore"
)

// The benchmark of the Changes view and of the search over every day
// (issue "What happened to my mail?"): one account of 100,000 messages in
// four folders over 15 daily snapshots. Each day 300 messages arrive in
// INBOX, 150 are deleted from it and 20 from Sent, 60 are moved to the
// archive, 400 are marked read or flagged; on day 8 the folder
// Archive/2023 (a fifth of the mailbox) is deleted. Each sub-benchmark
// reports the handler's time as p50/p95/p99 in milliseconds; the Changes
// requests are measured cold (the comparison computed: the first page a
// user sees) and warm (another page, filter or group of the same two
// days: from the cache).
//
//	go test ./internal/webmail -run '^$' -bench BenchmarkChanges -benchtime 200x -timeout 60m
func BenchmarkChanges(b *testing.B) {
	env := newHistoryEnv(b)
	days := env.days
	get := func(b *testing.B, path string) time.Duration { return env.get(b, path) }
	measure := func(name string, path func(rng *rand.Rand) string) {
		for _, cold := range []bool{true, false} {
			if !cold && !strings.HasPrefix(name, "changes/") {
				continue
			}
			full := name
			if strings.HasPrefix(name, "changes/") {
				full += map[bool]string{true: "/cold", false: "/warm"}[cold]
			}
			b.Run(full, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(11, 12))
				var ds []time.Duration
				for b.Loop() {
					p := path(rng)
					if cold {
						env.srv.cache.changes = newLRU[[2]catalog.SnapshotID, catalog.Changes](8)
					} else {
						get(b, p)
					}
					ds = append(ds, get(b, p))
				}
				report(b, ds)
			})
		}
	}
	pair := func(rng *rand.Rand) (catalog.Snapshot, catalog.Snapshot) {
		i := rng.IntN(len(days) - 1)
		j := i + 1 + rng.IntN(len(days)-1-i)
		return days[i], days[j]
	}
	measure("changes/15-days", func(*rand.Rand) string { return "/api/v1/changes" })
	measure("changes/one-day", func(rng *rand.Rand) string {
		i := rng.IntN(len(days) - 1)
		return fmt.Sprintf("/api/v1/changes?from=%d&to=%d", days[i].ID, days[i+1].ID)
	})
	measure("changes/any-two-days", func(rng *rand.Rand) string {
		a, c := pair(rng)
		return fmt.Sprintf("/api/v1/changes?from=%d&to=%d&offset=%d", a.ID, c.ID, rng.IntN(5)*100)
	})
	measure("changes/deleted-folder-ids", func(*rand.Rand) string {
		return fmt.Sprintf("/api/v1/changes?from=%d&to=%d&change=deleted,removed&folder=Archive/2023&ids=1&limit=1",
			days[0].ID, days[len(days)-1].ID)
	})
	measure("day-picker", func(*rand.Rand) string { return "/api/v1/snapshots" })
	measure("search-every-day", func(rng *rand.Rand) string {
		return "/api/v1/search?q=" + zipfWord(newZipf(rng))
	})
}

type historyEnv struct {
	*benchEnv
	days []catalog.Snapshot
}

// newHistoryEnv builds the benchmark's 15 days (MTM_BENCH_MESSAGES scales
// the mailbox while working on the code).
func newHistoryEnv(b *testing.B) *historyEnv {
	b.Helper()
	start := time.Now()
	size := 100000
	if n, err := strconv.Atoi(os.Getenv("MTM_BENCH_MESSAGES")); err == nil && n > 0 {
		size = n
	}
	st := mailstore.New(b, time.Date(2026, 11, 10, 23, 30, 0, 0, time.UTC), time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	z := newZipf(rng)
	n := 0
	next := func() []byte { n++; return benchMessage(n, rng, z) }
	names := []string{"INBOX", "Archive/2024", "Archive/2023", "Sent"}
	share := []int{40, 30, 20, 10}
	folders := map[string][]mailstore.Msg{}
	uids := map[string]uint32{}
	add := func(f string, raw []byte, flags []string) {
		uids[f]++
		folders[f] = append(folders[f], mailstore.Msg{UID: uids[f], Raw: raw, Flags: flags})
	}
	for i, f := range names {
		for range size * share[i] / 100 {
			add(f, next(), []string{`\Seen`})
		}
	}
	take := func(f string) mailstore.Msg { // a random message, out of its folder
		msgs := folders[f]
		i := rng.IntN(len(msgs))
		m := msgs[i]
		folders[f] = slices.Delete(msgs, i, i+1)
		return m
	}
	var days []catalog.Snapshot
	for d := range 15 {
		if d > 0 {
			for range 300 {
				add("INBOX", next(), nil)
			}
			for range 150 {
				take("INBOX")
			}
			for range 20 {
				take("Sent")
			}
			for range 60 {
				m := take("INBOX")
				add("Archive/2024", m.Raw, m.Flags)
			}
			for range 400 {
				m := &folders["INBOX"][rng.IntN(len(folders["INBOX"]))]
				m.Flags = slices.Clone(m.Flags)
				if rng.IntN(2) == 0 {
					m.Flags = append(m.Flags, `\Seen`)
				} else {
					m.Flags = append(m.Flags, `\Flagged`)
				}
			}
			if d == 8 {
				delete(folders, "Archive/2023")
			}
			st.Clock.Advance(24 * time.Hour)
		}
		var fs []mailstore.Folder
		for _, f := range names {
			if msgs, ok := folders[f]; ok {
				fs = append(fs, mailstore.Folder{Name: f, Subscribed: true, Messages: msgs})
			}
		}
		days = append(days, st.Snapshot(b, "alice@example.com", fs))
	}
	if _, err := (&search.Indexer{Catalog: st.Cat, Blobs: st.Blobs, Batch: 1000}).IndexAll(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Catalog: st.Cat.Browser(), Blobs: st.Blobs, Clock: st.Clock, RetentionDays: 15,
		Verifier: &fakeVerifier{passwords: map[string]string{"alice@example.com": "pw"}}})
	if err != nil {
		b.Fatal(err)
	}
	last := days[len(days)-1]
	b.Logf("built 15 days (%d messages on the last, %d stored) and their search index in %v",
		last.Messages, n, time.Since(start).Round(time.Second))
	return &historyEnv{benchEnv: &benchEnv{srv: srv, snap: last, cookie: benchLogin(b, srv)}, days: days}
}

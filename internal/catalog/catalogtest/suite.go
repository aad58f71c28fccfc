// Package catalogtest is the catalog's contract suite: the behaviour every
// back-end of catalog.Catalog must have, written once against the roles
// (internal/catalog/roles.go) and run by each back-end's tests with Run.
// The SQLite catalog runs it in internal/catalog; a PostgreSQL back-end
// runs the same tests.
//
// Every catalog a test opens is checked at the end of the test: its
// invariants must hold (Inconsistencies reports nothing), as `mtm check`
// would find them.
package catalogtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// Store is one catalog's storage, empty at first. Each call opens another
// handle on it, as another process would (o.Owner names that process); a
// handle not closed by the test is closed at its end.
type Store func(t *testing.T, o catalog.Options) catalog.Catalog

// Backend makes a new, empty catalog storage for one test.
type Backend func(t *testing.T) Store

// Run runs the contract suite against the back-end.
func Run(t *testing.T, b Backend) {
	cs := suite{backend: checked(b)}
	for _, tc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"IntervalsKeepEveryView", cs.testIntervalsKeepEveryView},
		{"StaleRunIsReaped", cs.testStaleRunIsReaped},
		{"BrowseIsScopedToTheAccount", cs.testBrowseIsScopedToTheAccount},
		{"FindSnapshot", cs.testFindSnapshot},
		{"SearchIndexFollowsContents", cs.testSearchIndexFollowsContents},
		{"SearchStopsAtMax", cs.testSearchStopsAtMax},
		{"BackupStatus", cs.testBackupStatus},
		{"RecordNightStreaks", cs.testRecordNightStreaks},
		{"OutboxEnqueueIsIdempotentAndTransactional", cs.testOutboxEnqueueIsIdempotentAndTransactional},
		{"OutboxTransitionsAndRecovery", cs.testOutboxTransitionsAndRecovery},
		{"RestoreTransitionsAreCompareAndSet", cs.testRestoreTransitionsAreCompareAndSet},
		{"RestoreTakeover", cs.testRestoreTakeover},
		{"AdminsAndAudit", cs.testAdminsAndAudit},
		{"QuickCommit", cs.testQuickCommit},
		{"BlobIndex", cs.testBlobIndex},
		{"BlobPackRetirement", cs.testBlobPackRetirement},
		{"Nodes", cs.testNodes},
		{"WebSessions", cs.testWebSessions},
		{"IMAPSlots", cs.testIMAPSlots},
		{"TakeRestore", cs.testTakeRestore},
		{"Changes", cs.testChanges},
		{"Settings", cs.testSettings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

type suite struct {
	backend Backend
}

// openTest opens a new, empty catalog in Europe/Rome.
func (cs suite) openTest(t *testing.T, clk clock.Clock, owner string) catalog.Catalog {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return cs.backend(t)(t, catalog.Options{Clock: clk, Location: loc, Owner: owner})
}

// checked wraps a back-end so that every handle is closed at the end of
// its test, after the catalog's invariants are checked through it.
func checked(b Backend) Backend {
	return func(t *testing.T) Store {
		open := b(t)
		return func(t *testing.T, o catalog.Options) catalog.Catalog {
			t.Helper()
			h := &handle{Catalog: open(t, o)}
			t.Cleanup(func() {
				if h.isClosed() {
					return
				}
				if bad, err := h.Inconsistencies(context.Background()); err != nil || len(bad) > 0 {
					t.Errorf("the catalog's invariants at the end of the test: %q, %v", bad, err)
				}
				if err := h.Close(); err != nil {
					t.Error(err)
				}
			})
			return h
		}
	}
}

// handle is a catalog that may be closed once.
type handle struct {
	catalog.Catalog
	mu     sync.Mutex
	closed bool
}

func (h *handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	return h.Catalog.Close()
}

func (h *handle) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

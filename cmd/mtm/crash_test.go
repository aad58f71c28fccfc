package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/testenv/corpus"
)

// TestSIGKILLDuringSnapshot kills mtm in the middle of a snapshot. The
// earlier snapshot must stay intact and complete, the store must pass its
// check, and the next run must complete, downloading only what the killed
// run had not stored yet.
func TestSIGKILLDuringSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	first, rest := msgs[:500], msgs[500:]
	for _, m := range first {
		e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{})
	}
	e.mustMTM("snapshot")
	before := e.snapshots(alice)
	if len(before) != 1 || before[0].State != "committed" {
		t.Fatalf("first snapshot: %+v", before)
	}
	beforeView := e.exported(alice, strconv.FormatInt(before[0].ID, 10), "INBOX")

	for _, m := range rest {
		e.dc.Append(t, alice, "Archive/"+m.Set, m.Bytes, nil, time.Time{})
	}
	staged := e.killMidSnapshot()

	// The earlier snapshot is intact and complete; the store is consistent.
	after := e.snapshots(alice)
	if len(after) != 2 || after[0] != before[0] || after[1].State != "running" {
		t.Fatalf("snapshots after the kill: %+v", after)
	}
	if d := e.exported(alice, strconv.FormatInt(before[0].ID, 10), "INBOX").diff(beforeView); d != "" {
		t.Errorf("the committed snapshot changed:\n%s", d)
	}
	e.mustMTM("check", "--read-data")

	// The next run completes and downloads only what is missing.
	e.mustMTM("snapshot")
	final := e.snapshots(alice)
	if len(final) != 3 || final[1].State != "failed" || !strings.Contains(final[1].Error, "interrupted") ||
		final[2].State != "committed" {
		t.Fatalf("snapshots after the next run: %+v", final)
	}
	if want := int64(len(rest) - staged); final[2].FetchedMessages != want {
		t.Errorf("the next run downloaded %d messages; %d were new and the killed run had stored %d, so want %d",
			final[2].FetchedMessages, len(rest), staged, want)
	}
	folders := []string{"INBOX", "Archive/easy-ham-1", "Archive/easy-ham-2", "Archive/hard-ham-1",
		"Archive/spam-1", "Archive/spam-2"}
	if d := e.exported(alice, strconv.FormatInt(final[2].ID, 10), folders...).diff(e.live(alice, folders...)); d != "" {
		t.Errorf("the completed snapshot differs from the mailbox:\n%s", d)
	}
	e.mustMTM("check", "--read-data")
}

// killMidSnapshot starts `mtm snapshot` as a separate process, waits until it
// has staged some messages, kills it with SIGKILL and returns how many
// messages it had staged.
func (e *e2e) killMidSnapshot() int {
	e.t.Helper()
	cmd, exited, out := e.startMTM("snapshot")
	e.waitStaged(exited, out)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		e.t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		e.t.Fatalf("mtm snapshot was not killed (%v):\n%s", err, out.String())
	}
	n := e.countRows("staged_entries")
	e.t.Logf("killed mtm snapshot after it had staged %d messages", n)
	return n
}

// countRows counts a catalog table's rows.
func (e *e2e) countRows(table string) int {
	e.t.Helper()
	ctx := context.Background()
	cat := e.openCatalog(ctx, catalog.Options{})
	n, err := cat.CountRows(ctx, table)
	if cerr := cat.Close(); err != nil || cerr != nil {
		e.t.Fatal(err, cerr)
	}
	return n
}

// waitStaged waits until an mtm process started by the test has staged
// some messages. exited receives the process's end; out holds its output.
func (e *e2e) waitStaged(exited <-chan error, out fmt.Stringer) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.countRows("staged_entries") == 0 {
		select {
		case err := <-exited:
			e.t.Fatalf("mtm snapshot ended (%v) before it staged anything:\n%s", err, out.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("mtm snapshot staged nothing in 30 s:\n%s", out.String())
		}
	}
}

package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/testenv/corpus"
)

// meta is, per folder, each message's hash with its flags and INTERNALDATE,
// sorted: what a restore must reproduce besides the bytes.
type meta map[string][]string

func (e *e2e) liveMeta(account string, folders ...string) meta {
	e.t.Helper()
	c := e.dc.Dial(e.t, account)
	defer func() { _ = c.Logout().Wait() }()
	out := meta{}
	section := &imap.FetchItemBodySection{Peek: true}
	for _, f := range folders {
		sel, err := c.Select(f, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			e.t.Fatalf("examine %s: %v", f, err)
		}
		out[f] = []string{}
		if sel.NumMessages == 0 {
			continue
		}
		cmd := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{section}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			buf, err := msg.Collect()
			if err != nil {
				e.t.Fatal(err)
			}
			var flags []string
			for _, fl := range buf.Flags {
				if fl != `\Recent` {
					flags = append(flags, string(fl))
				}
			}
			slices.Sort(flags)
			out[f] = append(out[f], fmt.Sprintf("%x %s %s", sha256.Sum256(buf.FindBodySection(section)),
				buf.InternalDate.UTC().Format(time.RFC3339), strings.Join(flags, ",")))
		}
		if err := cmd.Close(); err != nil {
			e.t.Fatal(err)
		}
		slices.Sort(out[f])
	}
	return out
}

func (m meta) count() int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

func mustSelect(t *testing.T, c *imapclient.Client, folder string) {
	t.Helper()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
}

func subscribed(t *testing.T, c *imapclient.Client) map[string]bool {
	t.Helper()
	list, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range list {
		out[l.Mailbox] = true
	}
	return out
}

// TestRestoreOnDovecot deletes messages, a folder and a nested folder,
// moves messages and delivers new mail, then restores the day: every
// message comes back with the same bytes, flags and INTERNALDATE, folders
// are recreated with their subscription state, moved messages are not
// doubled, new mail is untouched, and a second run adds nothing.
func TestRestoreOnDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("loads part of the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	date := time.Date(2002, 9, 1, 12, 0, 0, 0, time.FixedZone("", -7*3600))
	layout := []struct {
		folder string
		from   int
		to     int
	}{{"INBOX", 0, 200}, {"Archive/2002", 200, 300}, {"Archive/Schwierige Fälle", 300, 350}, {"Lists", 350, 380}}
	for _, l := range layout {
		for i, m := range msgs[l.from:l.to] {
			flags := []imap.Flag{}
			if i%3 == 0 {
				flags = append(flags, imap.FlagSeen)
			}
			if i%7 == 0 {
				flags = append(flags, imap.FlagFlagged, "$Label1")
			}
			e.dc.Append(t, alice, l.folder, m.Bytes, flags, date.Add(time.Duration(i)*time.Hour))
		}
	}
	c := e.dc.Dial(t, alice)
	for _, f := range []string{"INBOX", "Archive/2002", "Archive/Schwierige Fälle"} {
		if err := c.Subscribe(f).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	all := []string{"INBOX", "Archive/2002", "Archive/Schwierige Fälle", "Lists"}
	backup := e.liveMeta(alice, all...)
	e.now = "2026-11-20T00:00:30+01:00"
	e.mustMTM("snapshot")
	snap := strconv.FormatInt(e.snapshots(alice)[0].ID, 10)

	// The morning after: 20 messages deleted, 5 moved, two folders deleted,
	// new mail.
	mustSelect(t, c, "INBOX")
	expunge(t, c, "INBOX", imap.UID(1), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	if _, err := c.Move(imap.UIDSetNum(101, 102, 103, 104, 105), "Archive/2002").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Archive/Schwierige Fälle", "Lists"} {
		if err := c.Delete(f).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs[1000:1003] {
		e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{})
	}
	before := e.liveMeta(alice, "INBOX", "Archive/2002")

	out := e.mustMTM("restore", "--account", alice, "--snapshot", snap, "--dry-run")
	if !strings.Contains(out, "total: 100 messages") || !strings.Contains(out, "2 folders to recreate") ||
		!strings.Contains(out, "5 moved") {
		t.Errorf("dry run:\n%s", out)
	}
	if got := e.liveMeta(alice, "INBOX", "Archive/2002"); !equalMeta(got, before) {
		t.Fatal("the dry run changed the mailbox")
	}
	out = e.mustMTM("restore", "--account", alice, "--snapshot", snap)
	if !strings.Contains(out, "restored 100 messages, recreated 2 folders, skipped 280 still present, 0 failed") {
		t.Errorf("restore said:\n%s", out)
	}

	// INBOX: the backup's minus the 5 moved, plus the 3 new; Archive/2002:
	// its own plus the 5 moved; the deleted folders: as in the backup.
	after := e.liveMeta(alice, all...)
	want := meta{"Archive/Schwierige Fälle": backup["Archive/Schwierige Fälle"], "Lists": backup["Lists"]}
	moved := map[string]bool{}
	for _, m := range before["Archive/2002"] {
		if !slices.Contains(backup["Archive/2002"], m) {
			moved[m] = true
		}
	}
	if len(moved) != 5 {
		t.Fatalf("%d moved messages found, want 5", len(moved))
	}
	want["Archive/2002"] = before["Archive/2002"]
	for _, m := range backup["INBOX"] {
		if !moved[m] {
			want["INBOX"] = append(want["INBOX"], m)
		}
	}
	for _, m := range before["INBOX"] {
		if !slices.Contains(backup["INBOX"], m) {
			want["INBOX"] = append(want["INBOX"], m) // new mail
		}
	}
	slices.Sort(want["INBOX"])
	if !equalMeta(after, want) {
		for _, f := range all {
			if !slices.Equal(after[f], want[f]) {
				t.Errorf("folder %q after the restore: %d messages, want %d (bytes, flags and dates compared)",
					f, len(after[f]), len(want[f]))
			}
		}
	}
	if after.count() != backup.count()+3 {
		t.Errorf("%d messages after the restore, want the backup's %d plus 3 new", after.count(), backup.count())
	}
	subs := subscribed(t, c)
	if !subs["Archive/Schwierige Fälle"] || subs["Lists"] {
		t.Errorf("subscriptions after the restore: %v; want the recreated folders as in the backup", subs)
	}

	// Running it again adds nothing.
	out = e.mustMTM("restore", "--account", alice, "--snapshot", snap)
	if !strings.Contains(out, "restored 0 messages, recreated 0 folders, skipped 380 still present") {
		t.Errorf("second run:\n%s", out)
	}
	if got := e.liveMeta(alice, all...); !equalMeta(got, after) {
		t.Error("the second run changed the mailbox")
	}

	t.Run("separate target", func(t *testing.T) {
		mustSelect(t, c, "Lists")
		expunge(t, c, "Lists", imap.UID(1), 2, 3)
		out := e.mustMTM("restore", "--account", alice, "--snapshot", snap, "--folder", "Lists", "--target", "separate")
		if !strings.Contains(out, "restored 3 messages, recreated 1 folders") {
			t.Errorf("separate restore:\n%s", out)
		}
		got := e.liveMeta(alice, "Restored/2026-11-20/Lists")["Restored/2026-11-20/Lists"]
		if len(got) != 3 || !subscribed(t, c)["Restored/2026-11-20/Lists"] {
			t.Errorf("Restored/2026-11-20/Lists holds %d messages (want 3) or is not subscribed", len(got))
		}
	})
	e.mustMTM("check", "--read-data")
}

func equalMeta(a, b meta) bool {
	for f, v := range b {
		if !slices.Equal(a[f], v) {
			return false
		}
	}
	for f, v := range a {
		if _, ok := b[f]; !ok && len(v) > 0 {
			return false
		}
	}
	return true
}

// TestRestoreKilledAndResumed kills a restore of a whole emptied INBOX with
// SIGKILL in the middle; running it again completes it, and no message is
// doubled.
func TestRestoreKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("loads part of the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	var uids []imap.UID
	for _, m := range msgs[:1200] {
		uids = append(uids, e.dc.Append(t, alice, "INBOX", m.Bytes, []imap.Flag{imap.FlagSeen}, time.Time{}))
	}
	backup := e.liveMeta(alice, "INBOX")
	e.mustMTM("snapshot")
	snap := strconv.FormatInt(e.snapshots(alice)[0].ID, 10)
	c := e.dc.Dial(t, alice)
	mustSelect(t, c, "INBOX")
	expunge(t, c, "INBOX", uids...)

	cmd := exec.Command(os.Args[0], "restore", "--config", e.config, "--account", alice, "--snapshot", snap)
	cmd.Env = append(os.Environ(), "MTMTEST_RUN_MAIN=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for e.countRows("restore_appends") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the restore recorded nothing in 60 s:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the restore finished before it was killed:\n%s", out.String())
	}
	// The server may still be storing APPENDs the dead client had sent:
	// count once the mailbox has settled.
	partial := e.liveMeta(alice, "INBOX")["INBOX"]
	for {
		time.Sleep(time.Second)
		again := e.liveMeta(alice, "INBOX")["INBOX"]
		if len(again) == len(partial) {
			break
		}
		partial = again
	}
	t.Logf("killed the restore after %d of %d messages were back", len(partial), len(backup["INBOX"]))
	if len(partial) == 0 || len(partial) >= len(backup["INBOX"]) {
		t.Fatalf("%d messages back after the kill: the kill did not land in the middle", len(partial))
	}
	o := e.mustMTM("restore", "--account", alice, "--snapshot", snap)
	want := fmt.Sprintf("restored %d messages", len(backup["INBOX"])-len(partial))
	if !strings.Contains(o, want) {
		t.Errorf("resumed restore: %q missing from\n%s", want, o)
	}
	if got := e.liveMeta(alice, "INBOX"); !slices.Equal(got["INBOX"], backup["INBOX"]) {
		t.Errorf("after the resumed restore INBOX holds %d messages, want the backup's %d exactly",
			len(got["INBOX"]), len(backup["INBOX"]))
	}
}

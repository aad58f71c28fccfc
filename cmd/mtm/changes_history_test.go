package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/catalog"
)

// TestChangesOverAScriptedHistory: four nights of a Dovecot account in
// which mail is delivered, deleted, moved, moved twice, flagged, copied to
// a second folder then deleted from the first, a folder renamed, a folder
// deleted with its mail, and a folder's UIDVALIDITY changed under the
// same messages. Between every pair of days the catalog reports exactly
// what changed, and the day that vanished mail counts it.
func TestChangesOverAScriptedHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Dovecot")
	}
	t.Parallel()
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	msg := func(label string) []byte {
		return []byte(fmt.Sprintf("Subject: %s\r\nMessage-ID: <%s@history>\r\n\r\n%s\r\n", label, label, label))
	}
	for _, m := range []string{"m1", "m2", "m3", "m4", "m5"} {
		e.dc.Append(t, alice, "INBOX", msg(m), nil, time.Time{})
	}
	for _, f := range [][2]string{{"Projects", "p1"}, {"Projects", "p2"}, {"Old", "o1"}, {"Old", "o2"}} {
		e.dc.Append(t, alice, f[0], msg(f[1]), nil, time.Time{})
	}
	e.dc.Append(t, alice, "Reset", msg("r1"), []imap.Flag{imap.FlagSeen}, time.Time{})
	night := func(day int) {
		t.Helper()
		e.now = fmt.Sprintf("2026-11-%02dT03:00:00+01:00", 20+day)
		e.mustMTM("snapshot")
	}
	uid := func(folder, label string) imap.UID {
		t.Helper()
		c := e.dc.Dial(t, alice)
		defer func() { _ = c.Logout().Wait() }()
		mustSelect(t, c, folder)
		data, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: label}}}, nil).Wait()
		if err != nil || len(data.AllUIDs()) != 1 {
			t.Fatalf("%s in %s: %v %v", label, folder, data, err)
		}
		return data.AllUIDs()[0]
	}
	c := e.dc.Dial(t, alice)
	defer func() { _ = c.Logout().Wait() }()
	do := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	night(0)
	// Day 1: m6 delivered, m1 deleted, m2 moved to Archive, m3 read, m4
	// copied to Keep.
	e.dc.Append(t, alice, "INBOX", msg("m6"), nil, time.Time{})
	expunge(t, c, "INBOX", uid("INBOX", "m1"))
	do("create", c.Create("Archive", nil).Wait())
	do("create", c.Create("Keep", nil).Wait())
	mustSelect(t, c, "INBOX")
	_, err := c.Move(imap.UIDSetNum(uid("INBOX", "m2")), "Archive").Wait()
	do("move", err)
	do("flag", c.Store(imap.UIDSetNum(uid("INBOX", "m3")), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close())
	_, err = c.Copy(imap.UIDSetNum(uid("INBOX", "m4")), "Keep").Wait()
	do("copy", err)
	night(1)
	// Day 2: m2 moved again, Projects renamed, Old deleted with its mail,
	// Reset's UIDVALIDITY changed under the same message.
	do("create", c.Create("Later", nil).Wait())
	mustSelect(t, c, "Archive")
	_, err = c.Move(imap.UIDSetNum(uid("Archive", "m2")), "Later").Wait()
	do("move again", err)
	do("unselect", c.Unselect().Wait())
	do("rename", c.Rename("Projects", "Projekte", nil).Wait())
	do("delete", c.Delete("Old").Wait())
	e.dc.Doveadm(t, "mailbox", "update", "-u", alice, "--uid-validity", "4242", "Reset")
	night(2)
	// Day 3: m4 deleted from INBOX, its copy stays in Keep.
	expunge(t, c, "INBOX", uid("INBOX", "m4"))
	night(3)

	ctx := context.Background()
	cat := e.openCatalog(ctx, catalog.Options{})
	defer cat.Close() //nolint:errcheck // test
	acct, err := cat.LookupAccount(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := cat.Snapshots(ctx, acct)
	if err != nil || len(snaps) != 4 {
		t.Fatalf("%d snapshots, %v", len(snaps), err)
	}
	folders := func(s catalog.Snapshot) map[string]uint32 {
		fs, err := cat.Folders(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]uint32{}
		for _, f := range fs {
			out[f.Name] = f.UIDValidity
		}
		return out
	}
	if a, b := folders(snaps[1])["Reset"], folders(snaps[2])["Reset"]; a == b || b != 4242 {
		t.Fatalf("Reset's UIDVALIDITY did not change: %d then %d", a, b)
	}
	if a, b := folders(snaps[1])["Projects"], folders(snaps[2])["Projekte"]; a != b {
		t.Fatalf("the rename changed the UIDVALIDITY: %d then %d", a, b)
	}

	// Rows as "subject change folder>to_folder [still_in]", sorted.
	const (
		d01folders = "Archive created|Keep created"
		d12folders = "Later created|Old deleted 2|Projects renamed Projekte"
		d02folders = "Archive created|Keep created|Later created|Old deleted 2|Projects renamed Projekte"
	)
	want := map[[2]int][2]string{
		{0, 1}: {d01folders, "m1 deleted INBOX>|m2 moved INBOX>Archive|m3 flags INBOX> (→\\Seen)|m4 new Keep> copy|m6 new INBOX>"},
		{1, 2}: {d12folders, "m2 moved Archive>Later|o1 deleted Old>|o2 deleted Old>"},
		{2, 3}: {"", "m4 removed INBOX> [Keep]"},
		{0, 2}: {d02folders, "m1 deleted INBOX>|m2 moved INBOX>Later|m3 flags INBOX> (→\\Seen)|m4 new Keep> copy|m6 new INBOX>|o1 deleted Old>|o2 deleted Old>"},
		// m4: in INBOX on day 0, only in Keep on day 3: moved.
		{0, 3}: {d02folders, "m1 deleted INBOX>|m2 moved INBOX>Later|m3 flags INBOX> (→\\Seen)|m4 moved INBOX>Keep|m6 new INBOX>|o1 deleted Old>|o2 deleted Old>"},
		{1, 3}: {d12folders, "m2 moved Archive>Later|m4 removed INBOX> [Keep]|o1 deleted Old>|o2 deleted Old>"},
	}
	for pair, w := range want {
		from, to := snaps[pair[0]], snaps[pair[1]]
		ch, err := cat.Changes(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		var fs, ms []string
		for _, f := range ch.Folders {
			fs = append(fs, strings.Join(strings.Fields(fmt.Sprintf("%s %s %s %s", f.Name, f.Change, f.NewName, count(f.Messages))), " "))
		}
		for _, m := range ch.Messages {
			on := to
			if m.Earlier() {
				on = from
			}
			got, err := cat.MessageInView(ctx, on, m.ID)
			if err != nil {
				t.Fatalf("day %d to %d: the %s row's message: %v", pair[0], pair[1], m.Change, err)
			}
			row := fmt.Sprintf("%s %s %s>%s", got.Subject, m.Change, m.Folder, m.ToFolder)
			switch {
			case m.StillIn != nil:
				row += fmt.Sprint(" ", m.StillIn)
			case m.Copy:
				row += " copy"
			case m.Change == catalog.ChangeFlags:
				row += fmt.Sprintf(" (%s→%s)", m.FlagsBefore, m.FlagsAfter)
			}
			ms = append(ms, row)
		}
		slices.Sort(fs)
		slices.Sort(ms)
		if got := strings.Join(fs, "|"); got != w[0] {
			t.Errorf("folders from day %d to day %d:\n got %s\nwant %s", pair[0], pair[1], got, w[0])
		}
		if got := strings.Join(ms, "|"); got != w[1] {
			t.Errorf("messages from day %d to day %d:\n got %s\nwant %s", pair[0], pair[1], got, w[1])
		}
	}
	vanished, err := cat.Vanished(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(vanished[snaps[1].ID], vanished[snaps[2].ID], vanished[snaps[3].ID]); got != "1 2 0" {
		t.Errorf("vanished on days 1, 2, 3: %s, want 1 2 0 (m1; Old's two; m4 is still in Keep)", got)
	}
}

// count writes a folder's message count when it has one.
func count(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

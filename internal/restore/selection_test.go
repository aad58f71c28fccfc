package restore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/catalog"
	"mtm/internal/imapconn"
	"mtm/internal/restore"
	"mtm/internal/snapshot"
	"mtm/internal/testenv/dovecot"
)

// TestRestoreSelection on Dovecot: of three deleted messages two are
// selected, with one still live; the two come back with their bytes,
// flags and dates, the live one is skipped, the unselected one and the
// other folder's deleted messages stay gone. A message of another day is
// refused before anything is sent.
func TestRestoreSelection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dc := dovecot.Start(t)
	dc.AddUser(t, alice, "pw")
	for i := range 4 {
		dc.Deliver(t, alice, "INBOX", message(i, false), []imap.Flag{imap.FlagSeen}, time.Date(2024, 5, 6, 7, i, 0, 0, time.UTC))
	}
	for i := 4; i < 6; i++ {
		dc.Deliver(t, alice, "Archive", message(i, false), nil, time.Date(2024, 5, 6, 7, i, 0, 0, time.UTC))
	}
	before := live(t, dc, "INBOX", "Archive")
	cat, blobs := openStore(t)
	srv := dc.IMAPServer()
	res := snapshot.New(cat, blobs, snapshot.Options{Server: srv}).Account(ctx, alice)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	ids := entryIDs(t, cat, res.Snapshot) // folder -> entry ids in UID order
	// Delete INBOX's first three and Archive's two.
	c := dc.Dial(t, alice)
	for _, f := range []struct {
		name string
		uids imap.UIDSet
	}{{"INBOX", imap.UIDSetNum(1, 2, 3)}, {"Archive", imap.UIDSetNum(1, 2)}} {
		if _, err := c.Select(f.name, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Store(f.uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}

	conns, err := imapconn.DialN(ctx, srv, alice, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer imapconn.CloseAll(conns)
	selection := []int64{ids["INBOX"][0], ids["INBOX"][2], ids["INBOX"][3]} // two deleted, one still live
	plan, err := restore.MakePlan(ctx, cat, conns[0], restore.Request{Snapshot: res.Snapshot, Messages: selection})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Folders) != 1 || plan.Folders[0].Source != "INBOX" {
		t.Fatalf("the plan touches %+v, want INBOX alone", plan.Folders)
	}
	r, err := plan.Execute(ctx, cat, blobs, conns, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Appended != 2 || r.Skipped != 1 || r.Failed != 0 || r.Created != 0 {
		t.Errorf("appended %d, skipped %d, failed %d, created %d; want 2, 1, 0, 0", r.Appended, r.Skipped, r.Failed, r.Created)
	}
	got := live(t, dc, "INBOX", "Archive")
	// before is sorted by hash; message i is the one dated 07:0i.
	want := slices.DeleteFunc(slices.Clone(before["INBOX"]), func(m string) bool { return strings.Contains(m, "T07:01:00Z") })
	if !slices.Equal(got["INBOX"], want) || len(got["Archive"]) != 0 {
		t.Errorf("after the restore: INBOX %v, Archive %v;\nwant INBOX %v and Archive empty", got["INBOX"], got["Archive"], want)
	}

	_, err = restore.MakePlan(ctx, cat, conns[0], restore.Request{Snapshot: res.Snapshot, Messages: []int64{ids["INBOX"][0], 999999}})
	if !errors.Is(err, restore.ErrNotInSnapshot) {
		t.Errorf("a message not in the snapshot: %v, want ErrNotInSnapshot", err)
	}
}

// entryIDs lists the snapshot's message versions per folder, in UID order.
func entryIDs(t *testing.T, cat *catalog.DB, s catalog.Snapshot) map[string][]int64 {
	t.Helper()
	folders, err := cat.Folders(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int64{}
	for _, f := range folders {
		if err := cat.Messages(context.Background(), s, f.MailboxID, func(m catalog.Message) error {
			out[f.Name] = append(out[f.Name], m.EntryID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

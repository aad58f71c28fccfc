package restore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/restore"
	"mtm/internal/snapshot"
	"mtm/internal/testenv/dovecot"
)

const alice = "alice@example.com"

// message i: a few lines, or over 4 KiB when big (an APPEND literal that
// LITERAL- alone would not allow without waiting for the server's "+").
func message(i int, big bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: s%d@example.org\r\nTo: %s\r\nSubject: message %d\r\nMessage-ID: <m%d@example.org>\r\n\r\n", i, alice, i, i)
	for n := 0; n == 0 || big && b.Len() < 6000; n++ {
		fmt.Fprintf(&b, "line %d of message %d\r\n", n, i)
	}
	return b.Bytes()
}

// live is, per folder, the sorted "sha256 date flags" of every message.
func live(t *testing.T, dc *dovecot.Server, folders ...string) map[string][]string {
	t.Helper()
	c := dc.Dial(t, alice)
	out := map[string][]string{}
	section := &imap.FetchItemBodySection{Peek: true}
	for _, f := range folders {
		sel, err := c.Select(f, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("examine %s: %v", f, err)
		}
		out[f] = []string{}
		if sel.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.UIDSet{{Start: 1}}, &imap.FetchOptions{Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			flags := slices.DeleteFunc(m.Flags, func(f imap.Flag) bool { return f == `\Recent` })
			slices.Sort(flags)
			out[f] = append(out[f], fmt.Sprintf("%x %s %v", sha256.Sum256(m.FindBodySection(section)),
				m.InternalDate.UTC().Format(time.RFC3339), flags))
		}
		slices.Sort(out[f])
	}
	return out
}

// TestExecuteRefusedFolder restores into a folder deleted between the plan
// and its execution, on one connection: the server refuses each of its
// APPENDs (NO [TRYCREATE]), which are counted and reported, and the same
// connection goes on to restore the next folder with exact bytes, flags and
// dates. A second run recreates the folder and restores the rest; a third
// restores nothing.
func TestExecuteRefusedFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dc := dovecot.Start(t)
	dc.AddUser(t, alice, "pw")
	folders := []string{"Archive", "INBOX"} // restored in this order
	for i := range 6 {
		flags := []imap.Flag{imap.FlagSeen}
		if i%3 == 0 {
			flags = append(flags, imap.FlagFlagged)
		}
		dc.Deliver(t, alice, folders[i%2], message(i, i < 4), flags, time.Date(2024, 5, 6, 7, i, 9, 0, time.UTC))
	}
	want := live(t, dc, folders...)
	cat, blobs := openStore(t)
	srv := dc.IMAPServer()
	res := snapshot.New(cat, blobs, snapshot.Options{Server: srv}).Account(ctx, alice)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, f := range folders {
		dc.Doveadm(t, "expunge", "-u", alice, "mailbox", f, "all")
	}

	run := func(between func()) *restore.Result {
		t.Helper()
		conns, err := imapconn.DialN(ctx, srv, alice, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer imapconn.CloseAll(conns)
		plan, err := restore.MakePlan(ctx, cat, conns[0], restore.Request{Snapshot: res.Snapshot})
		if err != nil {
			t.Fatal(err)
		}
		if between != nil {
			between()
		}
		r, err := plan.Execute(ctx, cat, blobs, conns, nil)
		if err != nil {
			t.Fatalf("execute: %v", err)
		}
		return r
	}

	r := run(func() { dc.Doveadm(t, "mailbox", "delete", "-u", alice, "Archive") })
	if r.Appended != 3 || r.Failed != 3 || len(r.Folders) != 2 {
		t.Fatalf("first run: appended %d, failed %d, want 3 and 3: %+v", r.Appended, r.Failed, r.Folders)
	}
	if f := r.Folders[0]; f.Folder != "Archive" || f.Failed != 3 || len(f.Errors) != 3 || !strings.Contains(f.Errors[0], "doesn't exist") {
		t.Errorf("first run, Archive: %+v, want 3 failures that say the folder is missing", f)
	}
	if got := live(t, dc, "INBOX"); !slices.Equal(got["INBOX"], want["INBOX"]) {
		t.Errorf("INBOX after the first run:\n%v\nwant\n%v", got["INBOX"], want["INBOX"])
	}

	r = run(nil)
	if r.Appended != 3 || r.Failed != 0 || r.Created != 1 || r.Skipped != 3 {
		t.Fatalf("second run: appended %d, failed %d, created %d, skipped %d; want 3, 0, 1, 3", r.Appended, r.Failed, r.Created, r.Skipped)
	}
	if got := live(t, dc, folders...); !slices.Equal(got["Archive"], want["Archive"]) || !slices.Equal(got["INBOX"], want["INBOX"]) {
		t.Errorf("after the second run:\n%v\nwant\n%v", got, want)
	}
	if r = run(nil); r.Appended != 0 || r.Skipped != 6 {
		t.Errorf("third run: appended %d, skipped %d; want 0 and 6", r.Appended, r.Skipped)
	}
}

func openStore(t *testing.T) (*catalog.DB, *blobstore.Local) {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(context.Background(), filepath.Join(dir, "catalog.db"), catalog.Options{Clock: clock.Real{}, Owner: "host:1:test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
		if err := blobs.Close(); err != nil {
			t.Error(err)
		}
	})
	return cat, blobs
}

// expungedINBOX snapshots alice's account into a new store, expunges her
// INBOX, and returns the store, one connection (closed when the test ends)
// and the plan to restore the snapshot.
func expungedINBOX(t *testing.T, dc *dovecot.Server) (*catalog.DB, *blobstore.Local, []*imapconn.Conn, *restore.Plan) {
	t.Helper()
	ctx := context.Background()
	cat, blobs := openStore(t)
	srv := dc.IMAPServer()
	res := snapshot.New(cat, blobs, snapshot.Options{Server: srv}).Account(ctx, alice)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	dc.Doveadm(t, "expunge", "-u", alice, "mailbox", "INBOX", "all")
	conns, err := imapconn.DialN(ctx, srv, alice, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapconn.CloseAll(conns) })
	plan, err := restore.MakePlan(ctx, cat, conns[0], restore.Request{Snapshot: res.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	return cat, blobs, conns, plan
}

// TestExecuteUnsendableFlag: a message whose flags hold one a server would
// answer with BAD (an unknown system flag) is not sent, and is counted and
// reported as failed; the others are restored. Sent, it would make Dovecot
// read the rest of the message as commands: the line in its body would
// create a folder.
func TestExecuteUnsendableFlag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dc := dovecot.Start(t)
	dc.AddUser(t, alice, "pw")
	for i := range 3 {
		msg := message(i, false)
		if i == 1 {
			msg = append(msg, "Z1 CREATE Injected\r\n"...)
		}
		dc.Deliver(t, alice, "INBOX", msg, nil, time.Date(2024, 5, 6, 7, i, 9, 0, time.UTC))
	}
	cat, blobs, conns, plan := expungedINBOX(t, dc)
	for i, m := range plan.Folders[0].Append {
		if m.SourceUID == 2 {
			plan.Folders[0].Append[i].Flags = append(m.Flags, `\Bogus`)
		}
	}
	r, err := plan.Execute(ctx, cat, blobs, conns, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Appended != 2 || r.Failed != 1 || len(r.Folders[0].Errors) != 1 || !strings.Contains(r.Folders[0].Errors[0], `\Bogus`) {
		t.Errorf("appended %d, failed %d, errors %q; want 2, 1 and the flag named", r.Appended, r.Failed, r.Folders[0].Errors)
	}
	if out := dc.Doveadm(t, "mailbox", "list", "-u", alice); strings.Contains(out, "Injected") {
		t.Errorf("a line of a message ran as a command: folders %q", out)
	}
	if got := live(t, dc, "INBOX"); len(got["INBOX"]) != 2 {
		t.Errorf("INBOX has %d messages, want 2", len(got["INBOX"]))
	}
}

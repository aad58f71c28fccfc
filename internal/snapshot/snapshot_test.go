package snapshot

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/catalog"
)

func message(subject, body string) []byte {
	return []byte(fmt.Sprintf("From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: %s\r\n"+
		"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nMessage-ID: <%s@example.com>\r\n\r\n%s\r\n",
		subject, strings.ReplaceAll(subject, " ", "."), body))
}

// TestSnapshotsFollowTheMailbox takes snapshots of a mailbox with nested,
// non-ASCII, unsubscribed and special-use folders while it changes, and
// checks every snapshot against what the server returned at the time.
func TestSnapshotsFollowTheMailbox(t *testing.T) {
	h := newHarness(t)
	const alice = "alice@example.com"
	h.dc.AddUser(t, alice, "pw")
	date := time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("", 3600))
	h.dc.Append(t, alice, "INBOX", message("hello one", "first"), []imap.Flag{imap.FlagSeen}, date)
	h.dc.Append(t, alice, "INBOX", message("hello two", "second"), nil, date)
	h.dc.Append(t, alice, "INBOX", message("hello three", "third"), []imap.Flag{imap.FlagFlagged, "$Label1"}, date)
	h.dc.Append(t, alice, "Projects/2024", message("nested", "deep"), nil, date)
	h.dc.Append(t, alice, "Entwürfe", message("umlaut folder", "ü"), nil, date)
	h.dc.Append(t, alice, "Sent", message("sent one", "s"), []imap.Flag{imap.FlagSeen}, date)
	h.dc.Append(t, alice, "Hidden", message("unsubscribed", "h"), nil, date)
	c := h.dc.Dial(t, alice)
	for _, f := range []string{"INBOX", "Projects/2024", "Entwürfe", "Sent"} {
		if err := c.Subscribe(f).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	liveBefore := map[string]map[uint32]msgView{}
	for _, f := range []string{"INBOX", "Projects/2024", "Entwürfe", "Sent", "Hidden"} {
		liveBefore[f] = h.live(c, f)
	}

	s1 := h.snapshot(alice)
	folders, msgs := h.view(s1)
	checkFolder(t, folders, "INBOX", true, "", false)
	checkFolder(t, folders, "Entwürfe", true, "", false)
	checkFolder(t, folders, "Sent", true, `\Sent`, false)
	checkFolder(t, folders, "Hidden", false, "", false)
	checkFolder(t, folders, "Projects/2024", true, "", false)
	checkFolder(t, folders, "Projects", false, "", true)
	if folders["Projects/2024"].Delimiter != "/" {
		t.Errorf("delimiter = %q", folders["Projects/2024"].Delimiter)
	}
	for f, want := range liveBefore {
		sameMessages(t, "snapshot 1 "+f, msgs[f], want)
	}
	if s1.FetchedMessages != 7 || s1.Messages != 7 {
		t.Errorf("snapshot 1 fetched %d, holds %d messages; want 7 and 7", s1.FetchedMessages, s1.Messages)
	}
	if got := msgs["INBOX"][1].Subject; got != "hello one" {
		t.Errorf("summary subject = %q", got)
	}

	// The snapshot did not touch the live mailbox: "hello two" is still unseen.
	if got := h.live(c, "INBOX")[2].Flags; got != "" {
		t.Errorf("live flags of an unseen message after the snapshot = %q", got)
	}

	// Nothing changed: nothing fetched, no message version added.
	rowsBefore := h.count("entries")
	s2 := h.snapshot(alice)
	if s2.FetchedMessages != 0 || h.count("entries") != rowsBefore {
		t.Errorf("unchanged snapshot fetched %d messages and added %d versions", s2.FetchedMessages, h.count("entries")-rowsBefore)
	}

	// Expunge, new mail and a flag change.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagAnswered}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	h.dc.Append(t, alice, "INBOX", message("hello four", "fourth"), nil, date)
	liveAfter := h.live(c, "INBOX")

	s3 := h.snapshot(alice)
	if s3.FetchedMessages != 1 {
		t.Errorf("incremental snapshot fetched %d messages, want 1", s3.FetchedMessages)
	}
	_, msgs3 := h.view(s3)
	sameMessages(t, "snapshot 3 INBOX", msgs3["INBOX"], liveAfter)
	// Earlier snapshots still show the mailbox as it was.
	_, msgs1 := h.view(s1)
	sameMessages(t, "snapshot 1 INBOX after changes", msgs1["INBOX"], liveBefore["INBOX"])
	_, msgs2 := h.view(s2)
	sameMessages(t, "snapshot 2 INBOX after changes", msgs2["INBOX"], liveBefore["INBOX"])

	// UIDVALIDITY change: the folder is rescanned, no body is stored again.
	h.dc.Doveadm(t, "mailbox", "update", "-u", alice, "--uid-validity", "4242", "Sent")
	s4 := h.snapshot(alice)
	folders4, msgs4 := h.view(s4)
	if folders4["Sent"].UIDValidity != 4242 {
		t.Errorf("Sent uidvalidity = %d, want 4242", folders4["Sent"].UIDValidity)
	}
	sameMessages(t, "snapshot 4 Sent", msgs4["Sent"], liveBefore["Sent"])
	if s4.FetchedMessages != 1 || s4.NewBlobs != 0 {
		t.Errorf("after UIDVALIDITY change: fetched %d, new blobs %d; want 1 and 0", s4.FetchedMessages, s4.NewBlobs)
	}

	// A deleted folder leaves the new snapshot, not the old ones.
	if err := c.Delete("Hidden").Wait(); err != nil {
		t.Fatal(err)
	}
	s5 := h.snapshot(alice)
	folders5, _ := h.view(s5)
	if _, ok := folders5["Hidden"]; ok {
		t.Error("deleted folder still in the new snapshot")
	}
	folders1, msgs1 := h.view(s1)
	if _, ok := folders1["Hidden"]; !ok {
		t.Error("deleted folder gone from the old snapshot")
	}
	sameMessages(t, "snapshot 1 Hidden", msgs1["Hidden"], liveBefore["Hidden"])
	h.checkStore()
}

func checkFolder(t *testing.T, folders map[string]catalog.Folder, name string, subscribed bool, use string, container bool) {
	t.Helper()
	f, ok := folders[name]
	if !ok {
		t.Errorf("folder %q missing; have %v", name, keys(folders))
		return
	}
	if f.Subscribed != subscribed || f.SpecialUse != use || (f.MailboxID == 0) != container {
		t.Errorf("folder %q: subscribed %v special-use %q container %v; want %v %q %v",
			name, f.Subscribed, f.SpecialUse, f.MailboxID == 0, subscribed, use, container)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sameMessages(t *testing.T, what string, got, want map[uint32]msgView) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for uid, w := range want {
		g, ok := got[uid]
		switch {
		case !ok:
			t.Errorf("%s: uid %d missing", what, uid)
		case g.Flags != w.Flags:
			t.Errorf("%s: uid %d flags %q, want %q", what, uid, g.Flags, w.Flags)
		case !bytes.Equal(g.Bytes, w.Bytes):
			t.Errorf("%s: uid %d bytes differ from the server's", what, uid)
		}
	}
}

func (h *harness) count(table string) int {
	h.t.Helper()
	n, err := h.cat.CountRows(h.ctx, table)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

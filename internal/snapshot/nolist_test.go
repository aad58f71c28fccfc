package snapshot_test

import (
	"context"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/catalog"
	"mtm/internal/catalog/catalogtest"
	"mtm/internal/checker"
	"mtm/internal/demo"
	"mtm/internal/imapconn"
	"mtm/internal/snapshot"
	"mtm/internal/store"
)

// TestWithoutListStatus: on a server without LIST-STATUS and CONDSTORE
// (go-imap's in-memory server, as the demo runs it) every folder is
// examined each time, and snapshots still follow the mailbox: a new
// message, a flag change, an expunge, and a night without change.
func TestWithoutListStatus(t *testing.T) {
	ctx := context.Background()
	const carol, pw = "carol@example.com", "carol-pw"
	srv, err := demo.StartIMAP(map[string]string{carol: pw})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	c, err := imapclient.DialInsecure(srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() //nolint:errcheck // test client
	if err := c.Login(carol, pw).Wait(); err != nil {
		t.Fatal(err)
	}
	if c.Caps().Has(imap.CapListStatus) || c.Caps().Has(imap.CapIMAP4rev2) || c.Caps().Has(imap.CapCondStore) {
		t.Fatalf("the in-memory server offers %v: this test needs one without LIST-STATUS and CONDSTORE", c.Caps())
	}
	for _, f := range []string{"INBOX", "Notes"} {
		if err := c.Create(f, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	appendMsg := func(folder, subject string) {
		t.Helper()
		msg := []byte("From: a@example.com\r\nSubject: " + subject + "\r\n\r\nbody\r\n")
		cmd := c.Append(folder, int64(len(msg)), nil)
		if _, err := cmd.Write(msg); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	appendMsg("INBOX", "one")
	appendMsg("INBOX", "two")
	appendMsg("Notes", "note")

	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close() //nolint:errcheck // test store
	cat, blobs := st.Catalog, st.Blobs
	eng := snapshot.New(cat, blobs, snapshot.Options{Server: imapconn.Server{Address: srv.Addr(),
		TLS: imapconn.TLSNone, Credentials: imapconn.Passwords{carol: pw}, Timeout: 10 * time.Second}})
	subjects := func(s catalog.Snapshot) map[string][]string {
		t.Helper()
		folders, err := cat.Folders(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, f := range folders {
			for _, m := range catalogtest.Summaries(t, cat, s, f.MailboxID) {
				out[f.Name] = append(out[f.Name], m.Subject+" "+catalog.JoinFlags(m.Flags))
			}
		}
		return out
	}
	take := func(what string, want map[string][]string) {
		t.Helper()
		res := eng.Account(ctx, carol)
		if res.Err != nil {
			t.Fatalf("%s: %v", what, res.Err)
		}
		got := subjects(res.Snapshot)
		for f, w := range want {
			if len(got[f]) != len(w) {
				t.Errorf("%s: %s holds %q, want %q", what, f, got[f], w)
				continue
			}
			for i := range w {
				if got[f][i] != w[i] {
					t.Errorf("%s: %s holds %q, want %q", what, f, got[f], w)
				}
			}
		}
	}
	take("first", map[string][]string{"INBOX": {"one ", "two "}, "Notes": {"note "}})
	take("unchanged", map[string][]string{"INBOX": {"one ", "two "}, "Notes": {"note "}})
	appendMsg("INBOX", "three")
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}},
		nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}},
		nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	take("changed", map[string][]string{"INBOX": {`one \Seen`, "three "}, "Notes": {"note "}})
	rep, err := checker.Check(ctx, cat, blobs, checker.Options{ReadDataPercent: 100})
	if err != nil || !rep.OK() {
		t.Errorf("integrity check: %v %q", err, rep.Problems)
	}
}

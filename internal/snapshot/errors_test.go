package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/imapconn"
)

// TestBadInputFailsClearlyAndLosesNothing: each failure is reported with a
// clear reason, recorded on a failed snapshot row, and leaves the earlier
// snapshot as it was.
func TestBadInputFailsClearlyAndLosesNothing(t *testing.T) {
	h := newHarness(t)
	const alice = "alice@example.com"
	h.dc.AddUser(t, alice, "pw")
	h.dc.Append(t, alice, "INBOX", message("kept", "k"), nil, time.Time{})
	good := h.snapshot(alice)
	_, before := h.view(good)

	cases := []struct {
		name    string
		eng     func() *Engine
		account string
		want    string
	}{
		{"wrong master password", func() *Engine {
			return h.engine(imapconn.MasterUser{User: h.dc.MasterUser, Password: "wrong", Separator: "*"})
		}, alice, "wrong master password"},
		{"account does not exist", func() *Engine { return h.eng }, "nobody@example.com", "account does not exist"},
		{"wrong own password", func() *Engine { return h.engine(imapconn.Passwords{alice: "nope"}) }, alice, "refused the account's password"},
		{"no password for the account", func() *Engine { return h.engine(imapconn.Passwords{}) }, alice, "no password for alice@example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.eng().Account(h.ctx, tc.account)
			if res.Err == nil || !strings.Contains(res.Err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", res.Err, tc.want)
			}
			if strings.Contains(res.Err.Error(), h.dc.MasterPassword) {
				t.Fatal("error reveals the master password")
			}
			checkFailedRow(t, h, tc.account, tc.want)
		})
	}

	t.Run("folder vanishes during the run", func(t *testing.T) {
		h.dc.Append(t, alice, "Doomed", message("doomed", "d"), nil, time.Time{})
		c := h.dc.Dial(t, alice)
		eng := h.engine(imapconn.MasterUser{User: h.dc.MasterUser, Password: h.dc.MasterPassword, Separator: "*"})
		eng.beforeExamine = func(folder string) {
			if folder == "Doomed" {
				if err := c.Delete("Doomed").Wait(); err != nil {
					t.Errorf("deleting Doomed: %v", err)
				}
			}
		}
		res := eng.Account(h.ctx, alice)
		if res.Err != nil {
			t.Fatalf("a vanished folder failed the run: %v", res.Err)
		}
		folders, msgs := h.view(res.Snapshot)
		if _, ok := folders["Doomed"]; ok {
			t.Error("vanished folder is in the snapshot")
		}
		sameMessages(t, "INBOX", msgs["INBOX"], before["INBOX"])
	})

	t.Run("blob store fails", func(t *testing.T) {
		// Two folders with new mail, each more than one batch: the store
		// fails the third batch, after two were stored.
		for i := range 3 * batchMessages {
			h.dc.Append(t, alice, []string{"INBOX", "Work"}[i%2], message(fmt.Sprintf("unlucky %d", i), "u"), nil, time.Time{})
		}
		eng := h.engine(imapconn.MasterUser{User: h.dc.MasterUser, Password: h.dc.MasterPassword, Separator: "*"})
		blobs := &failingBlobs{BlobStore: h.blobs, after: 2}
		eng.blobs = blobs
		res := eng.Account(h.ctx, alice)
		if res.Err == nil || !strings.Contains(res.Err.Error(), "disk full") {
			t.Fatalf("err = %v, want the blob store's error", res.Err)
		}
		if n := blobs.calls.Load(); n < 3 {
			t.Errorf("the blob store was asked %d times, want the failing third call", n)
		}
		checkFailedRow(t, h, alice, "disk full")
		// The next run stores everything.
		res = h.eng.Account(h.ctx, alice)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if _, msgs := h.view(res.Snapshot); len(msgs["INBOX"])+len(msgs["Work"]) != len(before["INBOX"])+3*batchMessages {
			t.Errorf("after the failed run: %d messages in INBOX and Work, want %d", len(msgs["INBOX"])+len(msgs["Work"]),
				len(before["INBOX"])+3*batchMessages)
		}
	})

	t.Run("server unreachable", func(t *testing.T) {
		h.dc.Stop()
		res := h.eng.Account(h.ctx, alice)
		if res.Err == nil || !strings.Contains(res.Err.Error(), "connecting to imap server") {
			t.Fatalf("err = %v", res.Err)
		}
		checkFailedRow(t, h, alice, "connecting to imap server")
	})

	// The first snapshot is untouched by all of the above.
	_, after := h.view(good)
	sameMessages(t, "first snapshot", after["INBOX"], before["INBOX"])
	h.checkStore()
}

// failingBlobs is a blob store whose PutAll fails after its first after
// calls, as a full disk would.
type failingBlobs struct {
	BlobStore
	after int64
	calls atomic.Int64
}

func (f *failingBlobs) PutAll(ctx context.Context, blobs [][]byte) ([]blobstore.Info, error) {
	if f.calls.Add(1) > f.after {
		return nil, errors.New("disk full")
	}
	return f.BlobStore.PutAll(ctx, blobs)
}

func checkFailedRow(t *testing.T, h *harness, account, want string) {
	t.Helper()
	acct, err := h.cat.LookupAccount(h.ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := h.cat.Snapshots(h.ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	last := snaps[len(snaps)-1]
	if last.State != catalog.StateFailed || !strings.Contains(last.Error, want) {
		t.Errorf("last snapshot row: %s %q; want failed with %q", last.State, last.Error, want)
	}
}

package snapshot

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// requests counts what a snapshot asked of the server: logins and the
// folders it examined.
type requests struct {
	mu       sync.Mutex
	logins   int
	examined []string
	log      bytes.Buffer // the engine's debug log
}

func (h *harness) counted() (*Engine, *requests) {
	eng := h.engine(h.eng.server.Credentials)
	r := &requests{}
	eng.log = slog.New(slog.NewTextHandler(&r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng.beforeDial = func() {
		r.mu.Lock()
		r.logins++
		r.mu.Unlock()
	}
	eng.beforeExamine = func(f string) {
		r.mu.Lock()
		r.examined = append(r.examined, f)
		r.mu.Unlock()
	}
	return eng, r
}

// TestOnlyChangedFoldersAreExamined: with LIST-STATUS and CONDSTORE
// (Dovecot), an unchanged account costs one login and no EXAMINE and adds
// only a snapshot row; a flag change, a new message, an expunge and a
// UIDVALIDITY change in one folder are each captured while only that folder
// is examined, over one connection, and the other folders stay as they were
// (docs/design.md, "IMAP sync algorithm").
func TestOnlyChangedFoldersAreExamined(t *testing.T) {
	h := newHarness(t)
	const alice = "alice@example.com"
	h.dc.AddUser(t, alice, "pw")
	date := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	folders := []string{"INBOX", "Archive", "Sent", "Work", "Lists"}
	for _, f := range folders {
		for i := range 3 {
			h.dc.Append(t, alice, f, message(f+" message "+string(rune('a'+i)), f), nil, date)
		}
	}
	c := h.dc.Dial(t, alice)
	first := h.snapshot(alice)
	_, before := h.view(first)

	snap := func(what string, wantExamined []string) (map[string]map[uint32]msgView, int) {
		t.Helper()
		eng, r := h.counted()
		entries := h.count("entries")
		res := eng.Account(h.ctx, alice)
		if res.Err != nil {
			t.Fatalf("%s: %v", what, res.Err)
		}
		if r.logins != 1 {
			t.Errorf("%s: %d logins, want 1", what, r.logins)
		}
		if !slices.Equal(r.examined, wantExamined) {
			t.Errorf("%s: examined %q, want %q", what, r.examined, wantExamined)
		}
		if full := strings.Contains(r.log.String(), "full snapshot"); full != (wantExamined != nil) {
			t.Errorf("%s: took a full snapshot: %v, want %v\n%s", what, full, wantExamined != nil, r.log.String())
		}
		_, msgs := h.view(res.Snapshot)
		for _, f := range folders {
			if f == "Work" {
				continue
			}
			sameMessages(t, what+": unchanged "+f, msgs[f], before[f])
		}
		sameMessages(t, what+": Work", msgs["Work"], h.live(c, "Work"))
		return msgs, h.count("entries") - entries
	}

	t.Run("unchanged", func(t *testing.T) {
		snapshots := h.count("snapshots")
		_, added := snap("unchanged", nil)
		if added != 0 || h.count("snapshots") != snapshots+1 {
			t.Errorf("an unchanged night added %d entries and %d snapshot rows, want 0 and 1", added,
				h.count("snapshots")-snapshots)
		}
	})
	t.Run("flag change", func(t *testing.T) {
		if _, err := c.Select("Work", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}},
			nil).Close(); err != nil {
			t.Fatal(err)
		}
		msgs, _ := snap("flag change", []string{"Work"})
		if msgs["Work"][1].Flags != `\Flagged` {
			t.Errorf("flag change not captured: %q", msgs["Work"][1].Flags)
		}
	})
	t.Run("new message", func(t *testing.T) {
		h.dc.Append(t, alice, "Work", message("Work late arrival", "new"), nil, date)
		msgs, _ := snap("new message", []string{"Work"})
		if len(msgs["Work"]) != 4 {
			t.Errorf("Work holds %d messages, want 4", len(msgs["Work"]))
		}
	})
	t.Run("expunge", func(t *testing.T) {
		if _, err := c.Select("Work", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}},
			nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
		msgs, _ := snap("expunge", []string{"Work"})
		if _, ok := msgs["Work"][2]; ok || len(msgs["Work"]) != 3 {
			t.Errorf("expunge not captured: %d messages", len(msgs["Work"]))
		}
	})
	t.Run("UIDVALIDITY change", func(t *testing.T) {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete("Work").Wait(); err != nil {
			t.Fatal(err)
		}
		h.dc.Append(t, alice, "Work", message("Work reborn", "again"), nil, date)
		msgs, _ := snap("UIDVALIDITY change", []string{"Work"})
		if len(msgs["Work"]) != 1 || msgs["Work"][1].Subject != "Work reborn" {
			t.Errorf("the new Work is %v", msgs["Work"])
		}
	})
	t.Run("unchanged again", func(t *testing.T) {
		snap("unchanged again", nil)
	})
	// The first snapshot still shows the mailbox as it was.
	_, again := h.view(first)
	for _, f := range folders {
		sameMessages(t, "first snapshot "+f, again[f], before[f])
	}
	h.checkStore()
}

// TestSecondConnectionOnlyForBodies: an account opens its second
// connection only when at least two folders have bodies to download.
func TestSecondConnectionOnlyForBodies(t *testing.T) {
	h := newHarness(t)
	const bob = "bob@example.com"
	h.dc.AddUser(t, bob, "pw")
	for _, f := range []string{"INBOX", "Archive", "Sent"} {
		h.dc.Append(t, bob, f, message(f+" one", f), nil, time.Time{})
	}
	eng, r := h.counted()
	if res := eng.Account(h.ctx, bob); res.Err != nil {
		t.Fatal(res.Err)
	}
	if r.logins != 2 {
		t.Errorf("first snapshot of three folders with mail: %d logins, want 2 (connections_per_account)", r.logins)
	}
	h.dc.Append(t, bob, "Archive", message("Archive two", "a"), nil, time.Time{})
	eng, r = h.counted()
	if res := eng.Account(h.ctx, bob); res.Err != nil {
		t.Fatal(res.Err)
	}
	if r.logins != 1 || !slices.Equal(r.examined, []string{"Archive"}) {
		t.Errorf("one folder with new mail: %d logins, examined %q; want 1 and Archive", r.logins, r.examined)
	}
	h.checkStore()
}

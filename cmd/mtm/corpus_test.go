package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/testenv/corpus"
)

// corpusFolders places each set of the SpamAssassin corpus in a folder:
// nested and non-ASCII names included.
var corpusFolders = map[string]string{
	"easy-ham-1": "INBOX",
	"easy-ham-2": "Archive/2002",
	"hard-ham-1": "Archive/Schwierige Fälle",
	"spam-1":     "Junk",
	"spam-2":     "Junk/Älter",
}

// loadCorpus appends the whole corpus to account, with a few flags, and
// returns the folders it used.
func loadCorpus(t *testing.T, e *e2e, account string, msgs []corpus.Message) []string {
	t.Helper()
	date := time.Date(2002, 9, 1, 12, 0, 0, 0, time.FixedZone("", -7*3600))
	for i, m := range msgs {
		var flags []imap.Flag
		if i%3 == 0 {
			flags = append(flags, imap.FlagSeen)
		}
		if i%17 == 0 {
			flags = append(flags, imap.FlagFlagged, "$Forwarded")
		}
		e.dc.Append(t, account, corpusFolders[m.Set], m.Bytes, flags, date.Add(time.Duration(i)*time.Minute))
	}
	return []string{"INBOX", "Archive/2002", "Archive/Schwierige Fälle", "Junk", "Junk/Älter"}
}

// TestCorpusIsExportedByteExact loads the 6,046 real messages of the
// SpamAssassin corpus (many malformed) into Dovecot, snapshots the account
// with mtm, exports the snapshot as Maildir, and checks that every exported
// message is byte-identical to what Dovecot returns for it.
func TestCorpusIsExportedByteExact(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 6,046 messages")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	folders := loadCorpus(t, e, alice, msgs)

	e.mustMTM("snapshot")
	snaps := e.snapshots(alice)
	if len(snaps) != 1 || snaps[0].State != "committed" {
		t.Fatalf("snapshots after one run: %+v", snaps)
	}
	if snaps[0].Messages != corpus.Messages || snaps[0].FetchedMessages != corpus.Messages {
		t.Errorf("snapshot holds %d messages and fetched %d, want %d", snaps[0].Messages, snaps[0].FetchedMessages,
			corpus.Messages)
	}

	live := e.live(alice, folders...)
	if live.count() != corpus.Messages {
		t.Fatalf("the server has %d messages, want %d", live.count(), corpus.Messages)
	}
	exportStart := time.Now()
	got := e.exported(alice, strconv.FormatInt(snaps[0].ID, 10), folders...)
	t.Logf("mtm export of the day (and reading the Maildir back): %s", time.Since(exportStart).Round(time.Millisecond))
	if d := got.diff(live); d != "" {
		t.Errorf("exported messages differ from the server's:\n%s", d)
	}
	// By day too, and the day is the configured zone's.
	if byDay := e.exported(alice, snaps[0].Day, "INBOX"); len(byDay["INBOX"]) != len(live["INBOX"]) {
		t.Errorf("export by day %s: %d INBOX messages, want %d", snaps[0].Day, len(byDay["INBOX"]), len(live["INBOX"]))
	}
	if e.catalogURL == "" {
		// The corpus's search on PostgreSQL, after `mtm catalog copy`,
		// finds what it finds on SQLite.
		checkSearchParity(t, e, alice, msgs)
	}
	// A real client pulls the day from mtm's IMAP server, the messages
	// streamed from the store (S3 too in that run).
	checkIMAPPull(t, e, alice, snaps[0].Day, folders)
}

package dovecot

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestDeliver shows that a message written straight into the Maildir is
// served over IMAP with CRLF line endings, its flags, its size and its date,
// in a new nested folder too.
func TestDeliver(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.AddUser(t, alice, "pw")
	lf := []byte("Subject: lf\nMessage-ID: <1@x>\n\nline one\nline two\n")
	crlf := []byte("Subject: crlf\r\n\r\nbody\r\n")
	date := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	s.Deliver(t, alice, "INBOX", lf, []imap.Flag{imap.FlagSeen, imap.FlagFlagged}, date)
	s.Deliver(t, alice, "Archive/2024", crlf, nil, time.Time{})

	c := s.Dial(t, alice)
	data, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	var names []string
	for _, d := range data {
		names = append(names, d.Mailbox)
	}
	for _, want := range []string{"INBOX", "Archive", "Archive/2024"} {
		if !slices.Contains(names, want) {
			t.Errorf("LIST: %v, want %s", names, want)
		}
	}

	msg := fetchOne(t, c, "INBOX", 1)
	want := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	if got := msg.FindBodySection(&imap.FetchItemBodySection{Peek: true}); !bytes.Equal(got, want) {
		t.Errorf("body %q, want %q", got, want)
	}
	if !msg.InternalDate.Equal(date) {
		t.Errorf("INTERNALDATE %v, want %v", msg.InternalDate, date)
	}
	if !slices.Contains(msg.Flags, imap.FlagSeen) || !slices.Contains(msg.Flags, imap.FlagFlagged) {
		t.Errorf("flags %v, want \\Seen \\Flagged", msg.Flags)
	}
	if got := fetchOne(t, c, "Archive/2024", 1).FindBodySection(&imap.FetchItemBodySection{Peek: true}); !bytes.Equal(got, crlf) {
		t.Errorf("Archive/2024: body %q, want %q", got, crlf)
	}
	status := s.Doveadm(t, "fetch", "-u", alice, "size.virtual", "mailbox", "INBOX", "all")
	if wantSize := fmt.Sprintf("size.virtual: %d\n", len(want)); status != wantSize {
		t.Errorf("doveadm fetch: %q, want %q", status, wantSize)
	}
	if log, err := os.ReadFile(s.Dir + "/dovecot.log"); err != nil || bytes.Contains(log, []byte("Error")) {
		t.Errorf("dovecot log (%v):\n%s", err, log)
	}
}

package imapd

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/sync/semaphore"

	"mtm/internal/blobstore"
	"mtm/internal/testenv/mailstore"
	"mtm/internal/testenv/slowblobs"
)

// TestFetchReadsAhead: from a blob store whose reads wait for a round
// trip, a FETCH of many messages keeps up to ReadsAhead reads under way
// while it sends, and still answers every message byte for byte and in
// order: one larger than maxAhead is read in turn, one whose read ahead
// failed is read again in turn. The memory held read ahead is given back;
// with none to spare, the messages are read one by one.
func TestFetchReadsAhead(t *testing.T) {
	var sb *slowblobs.Store
	f := newFixtureWith(t, Options{}, func(b Blobs) Blobs {
		sb = &slowblobs.Store{Opener: b, Ahead: 4, Delay: 20 * time.Millisecond}
		return sb
	})
	var msgs []mailstore.Msg
	for i := range 30 {
		body := strings.Repeat(fmt.Sprintf("line of message %d\r\n", i), 50)
		if i == 7 {
			body = strings.Repeat("y", blobstore.AheadMaxBlob+10) + "\r\n"
		}
		msgs = append(msgs, mailstore.Msg{UID: uint32(1 + i),
			Raw: []byte(fmt.Sprintf("Subject: m%d\r\nMessage-ID: <%d@x>\r\n\r\n%s", i, i, body))})
	}
	f.st.Clock.Advance(24 * time.Hour)
	f.st.Snapshot(t, "alice@example.com", []mailstore.Folder{{Name: "Many", Messages: msgs}})
	c := f.login("alice@example.com", "alice-pw")
	if _, err := c.Select("2026-11-24/Many", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fetch := func() {
		t.Helper()
		defer func(start time.Time) { t.Logf("FETCH took %s", time.Since(start)) }(time.Now())
		var all imap.SeqSet
		all.AddRange(1, 30)
		got, err := c.Fetch(all, &imap.FetchOptions{UID: true, Envelope: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(msgs) {
			t.Fatalf("%d messages answered, want %d", len(got), len(msgs))
		}
		for i, m := range got {
			if m.UID != imap.UID(msgs[i].UID) || !bytes.Equal(m.FindBodySection(&imap.FetchItemBodySection{Peek: true}), msgs[i].Raw) ||
				m.Envelope == nil || m.Envelope.Subject != fmt.Sprintf("m%d", i) {
				t.Fatalf("answer %d (UID %d) is not message %d as stored", i, m.UID, i)
			}
		}
	}
	sb.FailOnce(sha256.Sum256(msgs[12].Raw))
	fetch()
	if c := sb.Reset(); c.Most < 2 || c.Most > 5 || c.Failed != 1 {
		t.Errorf("reads under way at once: %d, want 2 to 5 (4 ahead and one in turn); reads failed: %d, want 1", c.Most, c.Failed)
	}
	if !f.srv.aheadMem.TryAcquire(defaultAheadMemory) {
		t.Fatal("the memory read ahead was not all given back")
	}
	f.srv.aheadMem.Release(defaultAheadMemory)

	// A message list's FETCH (ENVELOPE and some header fields) reads
	// every message's header ahead, the large one's too, each once.
	var all imap.SeqSet
	all.AddRange(1, 30)
	subject := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	list, err := c.Fetch(all, &imap.FetchOptions{UID: true, Envelope: true, BodySection: []*imap.FetchItemBodySection{subject}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range list {
		if want := fmt.Sprintf("Subject: m%d\r\n\r\n", i); m.Envelope == nil || m.Envelope.Subject != fmt.Sprintf("m%d", i) ||
			string(m.FindBodySection(subject)) != want {
			t.Fatalf("message %d: ENVELOPE %+v, header fields %q; want the subject m%d", i, m.Envelope, m.FindBodySection(subject), i)
		}
	}
	if c := sb.Reset(); c.Most < 2 || c.Opens != len(msgs) {
		t.Errorf("a FETCH of headers: %d reads under way at once, %d reads of %d messages; want 2 or more, and each read once",
			c.Most, c.Opens, len(msgs))
	}
	if !f.srv.aheadMem.TryAcquire(defaultAheadMemory) {
		t.Fatal("the memory read ahead of headers was not all given back")
	}

	f.srv.aheadMem = semaphore.NewWeighted(1) // no memory to read ahead with
	fetch()
	if c := sb.Reset(); c.Most != 1 {
		t.Errorf("without memory to spare, %d reads under way at once, want 1", c.Most)
	}
}

package imapd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/sync/semaphore"

	"mtm/internal/blobstore"
	"mtm/internal/testenv/mailstore"
)

// slowBlobs is a blob store whose every read waits for a round trip, as
// S3's ranged GETs do, and that asks for reads ahead. It counts the reads
// under way at once, and fails the first read of one blob.
type slowBlobs struct {
	Blobs
	ahead int
	delay time.Duration

	mu       sync.Mutex
	failOnce blobstore.Hash
	failed   bool
	open     int // reads under way
	most     int // the most at once
	opens    int // reads begun
}

func (b *slowBlobs) ReadsAhead() int { return b.ahead }

func (b *slowBlobs) Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	b.open++
	b.opens++
	b.most = max(b.most, b.open)
	fail := h == b.failOnce && !b.failed
	b.failed = b.failed || fail
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.open--
		b.mu.Unlock()
	}()
	select { // the round trip
	case <-time.After(b.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if fail {
		return nil, errors.New("503 Slow Down")
	}
	return b.Blobs.Open(ctx, h)
}

func (b *slowBlobs) reset() (most int, failed bool, opens int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	most, failed, opens = b.most, b.failed, b.opens
	b.most, b.failed, b.failOnce, b.opens = 0, false, blobstore.Hash{}, 0
	return most, failed, opens
}

// TestFetchReadsAhead: from a blob store whose reads wait for a round
// trip, a FETCH of many messages keeps up to ReadsAhead reads under way
// while it sends, and still answers every message byte for byte and in
// order: one larger than maxAhead is read in turn, one whose read ahead
// failed is read again in turn. The memory held read ahead is given back;
// with none to spare, the messages are read one by one.
func TestFetchReadsAhead(t *testing.T) {
	var sb *slowBlobs
	f := newFixtureWith(t, Options{}, func(b Blobs) Blobs {
		sb = &slowBlobs{Blobs: b, ahead: 4, delay: 20 * time.Millisecond}
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
	sb.mu.Lock()
	sb.failOnce = sha256.Sum256(msgs[12].Raw)
	sb.mu.Unlock()
	fetch()
	if most, failed, _ := sb.reset(); most < 2 || most > 5 || !failed {
		t.Errorf("reads under way at once: %d, want 2 to 5 (4 ahead and one in turn); the failing read happened: %v", most, failed)
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
	if most, _, opens := sb.reset(); most < 2 || opens != len(msgs) {
		t.Errorf("a FETCH of headers: %d reads under way at once, %d reads of %d messages; want 2 or more, and each read once",
			most, opens, len(msgs))
	}
	if !f.srv.aheadMem.TryAcquire(defaultAheadMemory) {
		t.Fatal("the memory read ahead of headers was not all given back")
	}

	f.srv.aheadMem = semaphore.NewWeighted(1) // no memory to read ahead with
	fetch()
	if most, _, _ := sb.reset(); most != 1 {
		t.Errorf("without memory to spare, %d reads under way at once, want 1", most)
	}
}

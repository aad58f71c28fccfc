package restore_test

import (
	"context"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/imapconn"
	"mtm/internal/restore"
	"mtm/internal/snapshot"
	"mtm/internal/testenv/dovecot"
)

// slowBlobs is a blob store whose every read waits for a round trip, as
// S3's ranged GETs do, and that asks for reads ahead; it counts the reads
// under way at once.
type slowBlobs struct {
	*blobstore.Local
	mu         sync.Mutex
	open, most int
}

func (b *slowBlobs) ReadsAhead() int { return 4 }

func (b *slowBlobs) Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	b.open++
	b.most = max(b.most, b.open)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.open--
		b.mu.Unlock()
	}()
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Local.Open(ctx, h)
}

// TestExecuteReadsAhead: from a blob store whose reads wait, a restore
// reads the messages ahead of its APPENDs (several reads under way), and
// every message comes back with its exact bytes, date and flags.
func TestExecuteReadsAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dc := dovecot.Start(t)
	dc.AddUser(t, alice, "pw")
	for i := range 40 {
		dc.Deliver(t, alice, "INBOX", message(i, i%3 == 0), nil, time.Date(2024, 5, 6, 7, i, 9, 0, time.UTC))
	}
	cat, local := openStore(t)
	srv := dc.IMAPServer()
	res := snapshot.New(cat, local, snapshot.Options{Server: srv}).Account(ctx, alice)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	before := live(t, dc, "INBOX")
	dc.Doveadm(t, "expunge", "-u", alice, "mailbox", "INBOX", "all")
	conns, err := imapconn.DialN(ctx, srv, alice, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer imapconn.CloseAll(conns)
	plan, err := restore.MakePlan(ctx, cat, conns[0], restore.Request{Snapshot: res.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowBlobs{Local: local}
	r, err := plan.Execute(ctx, cat, slow, conns, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Appended != 40 || r.Failed != 0 {
		t.Errorf("appended %d, failed %d; want 40 and 0", r.Appended, r.Failed)
	}
	if got := live(t, dc, "INBOX"); !reflect.DeepEqual(got, before) {
		t.Errorf("INBOX after the restore differs from before the expunge:\n%v\nwant\n%v", got, before)
	}
	if slow.most < 2 || slow.most > 5 {
		t.Errorf("%d reads under way at once, want 2 to 5", slow.most)
	}
}

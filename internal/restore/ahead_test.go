package restore_test

import (
	"context"
	"crypto/sha256"
	"reflect"
	"testing"
	"time"

	"mtm/internal/testenv/dovecot"
	"mtm/internal/testenv/slowblobs"
)

// TestExecuteReadsAhead: from a blob store whose reads wait, a restore
// reads the messages ahead of its APPENDs (several reads under way), and
// every message comes back with its exact bytes, date and flags, the one
// whose read ahead failed too.
func TestExecuteReadsAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dc := dovecot.Start(t)
	dc.AddUser(t, alice, "pw")
	for i := range 40 {
		dc.Deliver(t, alice, "INBOX", message(i, i%3 == 0), nil, time.Date(2024, 5, 6, 7, i, 9, 0, time.UTC))
	}
	before := live(t, dc, "INBOX")
	cat, local, conns, plan := expungedINBOX(t, dc)
	slow := &slowblobs.Store{Opener: local, Ahead: 4, Delay: 20 * time.Millisecond}
	slow.FailOnce(sha256.Sum256(message(10, false))) // read ahead, failed, opened again in its turn
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
	if c := slow.Reset(); c.Most < 2 || c.Most > 5 || c.Failed != 1 {
		t.Errorf("%d reads under way at once, %d failed; want 2 to 5, and 1", c.Most, c.Failed)
	}
}

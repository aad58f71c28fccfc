package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// account is a generated account: its address, the tag that makes its
// Message-IDs unique, and the number of the next message to generate.
type account struct {
	address string
	tag     string
	folders []string
	next    int
}

// deliver generates and delivers messages next .. next+n-1 of the account.
func (h *harness) deliver(a *account, n int) (bytes int64) {
	h.b.Helper()
	for range n {
		msg := corpusMessage(h.corpus, a.tag, a.next)
		h.dc.Deliver(h.b, a.address, a.folders[a.next%len(a.folders)], msg, flagsOf(a.next), dateOf(a.next))
		bytes += int64(imapSize(msg))
		a.next++
	}
	return bytes
}

// imapSize is the size IMAP reports for msg: bare LFs count as CRLF.
func imapSize(msg []byte) int {
	n := len(msg)
	for i, c := range msg {
		if c == '\n' && (i == 0 || msg[i-1] != '\r') {
			n++
		}
	}
	return n
}

// churnCounts is what one simulated day changed.
type churnCounts struct {
	Live                    int // messages before the day's changes
	New, Deleted, Reflagged int
	NewBytes                int64 // IMAP size of the new messages
}

// located is one message of an account.
type located struct {
	folder string
	uid    imap.UID
}

// churn simulates one day of mail on the account: it delivers newPct
// percent of new messages, expunges delPct percent and toggles \Flagged on
// flagPct percent of the others, all chosen with rng, over IMAP as the
// account's user would.
func (h *harness) churn(a *account, rng *rand.Rand, newPct, delPct, flagPct int) churnCounts {
	h.b.Helper()
	c := h.dc.Dial(h.b, a.address)
	var all []located
	for _, f := range a.folders {
		if _, err := c.Select(f, nil).Wait(); err != nil {
			h.b.Fatalf("select %s: %v", f, err)
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			h.b.Fatalf("uid search %s: %v", f, err)
		}
		for _, uid := range data.AllUIDs() {
			all = append(all, located{f, uid})
		}
	}
	cc := churnCounts{Live: len(all)}
	cc.Deleted, cc.Reflagged = len(all)*delPct/100, len(all)*flagPct/100
	picked := rng.Perm(len(all))[:cc.Deleted+cc.Reflagged]
	del, flag := map[string]imap.UIDSet{}, map[string]imap.UIDSet{}
	for i, p := range picked {
		m := all[p]
		target := flag
		if i < cc.Deleted {
			target = del
		}
		set := target[m.folder]
		set.AddNum(m.uid)
		target[m.folder] = set
	}
	for _, f := range a.folders {
		if len(del[f]) == 0 && len(flag[f]) == 0 {
			continue
		}
		if _, err := c.Select(f, nil).Wait(); err != nil {
			h.b.Fatalf("select %s: %v", f, err)
		}
		if err := toggleFlagged(c, flag[f]); err != nil {
			h.b.Fatalf("reflagging in %s: %v", f, err)
		}
		if err := expunge(c, del[f]); err != nil {
			h.b.Fatalf("expunging in %s: %v", f, err)
		}
	}
	if err := c.Logout().Wait(); err != nil {
		h.b.Fatalf("logout: %v", err)
	}
	cc.New = len(all) * newPct / 100
	cc.NewBytes = h.deliver(a, cc.New)
	return cc
}

// toggleFlagged removes \Flagged from the messages of uids that have it and
// adds it to the others, so that every one of them changes.
func toggleFlagged(c *imapclient.Client, uids imap.UIDSet) error {
	if len(uids) == 0 {
		return nil
	}
	msgs, err := c.Fetch(uids, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return fmt.Errorf("fetching flags: %w", err)
	}
	var on, off imap.UIDSet
	for _, m := range msgs {
		if slices.Contains(m.Flags, imap.FlagFlagged) {
			off.AddNum(m.UID)
		} else {
			on.AddNum(m.UID)
		}
	}
	for _, op := range []struct {
		set imap.UIDSet
		op  imap.StoreFlagsOp
	}{{on, imap.StoreFlagsAdd}, {off, imap.StoreFlagsDel}} {
		if len(op.set) == 0 {
			continue
		}
		store := &imap.StoreFlags{Op: op.op, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}
		if err := c.Store(op.set, store, nil).Close(); err != nil {
			return fmt.Errorf("storing flags: %w", err)
		}
	}
	return nil
}

// expunge removes the messages of uids.
func expunge(c *imapclient.Client, uids imap.UIDSet) error {
	if len(uids) == 0 {
		return nil
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := c.Store(uids, store, nil).Close(); err != nil {
		return fmt.Errorf("marking deleted: %w", err)
	}
	if err := c.UIDExpunge(uids).Close(); err != nil {
		return fmt.Errorf("uid expunge: %w", err)
	}
	return nil
}

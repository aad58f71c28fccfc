package jobs

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/imapconn"
)

// slotLease is how long a slot stays taken without renewal: a dead node's
// slots are free again after it. Nodes renew theirs at every beat.
const slotLease = time.Minute

// Slots bounds the IMAP connections of the whole cluster to a mail server
// ([cluster] imap_connections): a connection takes a slot of the catalog's
// imap_slots before it dials, and gives it back when it closes
// (imapconn.Slots). Nodes renew their slots as they beat (Queue.Run).
type Slots struct {
	Catalog catalog.IMAPSlots
	Max     int // slots per server
	Clock   clock.Clock
}

// Acquire takes a free slot of server, trying from a random one; while
// all are taken it fails with imapconn.ErrNoSlot, or, with wait, tries
// again after a pause that grows to a second.
func (s *Slots) Acquire(ctx context.Context, server string, wait bool) (func(), error) {
	pause := 20 * time.Millisecond
	for {
		slot, ok, err := s.Catalog.TakeIMAPSlot(ctx, server, s.Max, rand.IntN(s.Max), s.Clock.Now().Add(slotLease))
		if err != nil {
			return nil, err
		}
		if ok {
			var once sync.Once
			return func() {
				once.Do(func() {
					ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
					defer cancel()
					_ = s.Catalog.ReleaseIMAPSlot(ctx, server, slot) // else its lease runs out
				})
			}, nil
		}
		if !wait {
			return nil, imapconn.ErrNoSlot
		}
		if err := clock.Sleep(ctx, s.Clock, pause); err != nil {
			return nil, err
		}
		pause = min(2*pause, time.Second)
	}
}

// renew extends the leases of the slots this node holds.
func (s *Slots) renew(ctx context.Context) error {
	return s.Catalog.RenewIMAPSlots(ctx, s.Clock.Now().Add(slotLease))
}

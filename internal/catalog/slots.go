package catalog

import (
	"context"
	"fmt"
	"time"
)

// TakeIMAPSlot takes a free slot of server's slots (0 .. slots-1) for this
// process until leaseUntil, trying from slot first; ok is false when every
// slot is held by a live lease. Each try is one statement of its own, so
// that takers hold no row while they try the next.
func (c *DB) TakeIMAPSlot(ctx context.Context, server string, slots, first int, leaseUntil time.Time) (int, bool, error) {
	now, until := c.nowMillis(), leaseUntil.UnixMilli()
	for i := range slots {
		slot := (first + i) % slots
		res, err := c.w.ExecContext(ctx, `INSERT INTO imap_slots (server, slot, owner, lease_until) VALUES (?, ?, ?, ?)
			ON CONFLICT (server, slot) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
			WHERE imap_slots.owner IS NULL OR imap_slots.lease_until < ?`, server, slot, c.owner, until, now)
		if err != nil {
			return 0, false, fmt.Errorf("taking an imap slot of %s: %w", server, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, false, err
		} else if n == 1 {
			return slot, true, nil
		}
	}
	return 0, false, nil
}

// RenewIMAPSlots extends the lease of every slot this process holds.
func (c *DB) RenewIMAPSlots(ctx context.Context, leaseUntil time.Time) error {
	if _, err := c.w.ExecContext(ctx, `UPDATE imap_slots SET lease_until = ? WHERE owner = ?`,
		leaseUntil.UnixMilli(), c.owner); err != nil {
		return fmt.Errorf("renewing imap slots: %w", err)
	}
	return nil
}

// ReleaseIMAPSlot frees a slot this process holds.
func (c *DB) ReleaseIMAPSlot(ctx context.Context, server string, slot int) error {
	if _, err := c.w.ExecContext(ctx, `UPDATE imap_slots SET owner = NULL WHERE server = ? AND slot = ? AND owner = ?`,
		server, slot, c.owner); err != nil {
		return fmt.Errorf("releasing imap slot %d of %s: %w", slot, server, err)
	}
	return nil
}

// FreeIMAPSlotsOf frees every slot a dead node held, before their leases
// run out.
func (c *DB) FreeIMAPSlotsOf(ctx context.Context, node string) error {
	if _, err := c.w.ExecContext(ctx, `UPDATE imap_slots SET owner = NULL WHERE owner = ?`, node); err != nil {
		return fmt.Errorf("freeing the imap slots of %s: %w", node, err)
	}
	return nil
}

package catalog

import (
	"context"
	"database/sql"
	"sync"
)

// groupCommit runs the write transactions of concurrent callers together
// (docs/design.md, "IMAP sync algorithm", step 5): a caller that arrives
// while another group commits waits for the next group, and the first
// caller of a group commits it for everybody. Each caller's work runs in a
// savepoint of its own, so one that fails rolls back alone; every caller
// returns after the transaction holding its work is durable, or with its
// error.
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupReq
	leading bool
}

type groupReq struct {
	fn   func(*sql.Tx) error
	done chan error
}

// groupTx runs fn in a write transaction shared with concurrent callers.
func (c *DB) groupTx(fn func(*sql.Tx) error) error {
	req := &groupReq{fn: fn, done: make(chan error, 1)}
	g := &c.group
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.leading {
		g.mu.Unlock()
		return <-req.done
	}
	g.leading = true
	g.mu.Unlock()
	for {
		g.mu.Lock()
		batch := g.pending
		g.pending = nil
		if len(batch) == 0 {
			g.leading = false
			g.mu.Unlock()
			break
		}
		g.mu.Unlock()
		c.commitGroup(batch)
	}
	return <-req.done
}

// commitGroup runs the batch in one transaction and tells every caller how
// its part ended.
func (c *DB) commitGroup(batch []*groupReq) {
	ctx := context.Background() // each part is bounded by its own context
	errs := make([]error, len(batch))
	err := c.tx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT grp`); err != nil {
				return err
			}
			if errs[i] = r.fn(tx); errs[i] != nil {
				if retryable(errs[i]) {
					// PostgreSQL could not serialize this part with another
					// transaction: the whole group runs again (c.tx).
					return errs[i]
				}
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO grp`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE grp`); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

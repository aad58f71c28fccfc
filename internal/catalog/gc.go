package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrPruning is returned, wrapped, by BeginSnapshot while prune holds the
// blob-deletion lock; the caller waits and tries again.
var ErrPruning = errors.New("prune is deleting blobs")

// blobDeletionLock names the lock prune holds while it deletes blobs.
const blobDeletionLock = "blob-deletion"

// Garbage is a blob no catalog row names, waiting to be deleted.
type Garbage struct {
	Hash       [32]byte
	StoredSize int64
	MarkedAt   time.Time
}

// Garbage calls fn for every garbage blob, streaming.
func (c *DB) Garbage(ctx context.Context, fn func(Garbage) error) error {
	rows, err := c.r.QueryContext(ctx, `SELECT hash, stored_size, marked_at FROM garbage ORDER BY hash`)
	if err != nil {
		return fmt.Errorf("listing garbage: %w", err)
	}
	for rows.Next() {
		var g Garbage
		var h []byte
		var marked int64
		if err := rows.Scan(&h, &g.StoredSize, &marked); err != nil {
			return errors.Join(err, rows.Close())
		}
		copy(g.Hash[:], h)
		g.MarkedAt = time.UnixMilli(marked).UTC()
		if err := fn(g); err != nil {
			return errors.Join(err, rows.Close())
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}

// Named tells whether a contents row or a garbage row names hash h.
func (c *DB) Named(ctx context.Context, h [32]byte) (content, garbage bool, err error) {
	err = c.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM contents WHERE hash = ?1),
		EXISTS (SELECT 1 FROM garbage WHERE hash = ?1)`, h[:]).Scan(&content, &garbage)
	if err != nil {
		return false, false, fmt.Errorf("looking up blob %x: %w", h[:8], err)
	}
	return content, garbage, nil
}

// BlobLock is the blob-deletion lock, held by prune (design.md, "Deleting
// blobs"). While it is live no snapshot runs.
type BlobLock struct {
	c *DB
}

// LockBlobDeletion takes the blob-deletion lock. Runs of dead owners are
// marked failed first. It fails with an error wrapping ErrBusy while a
// snapshot is running or another live process holds the lock.
func (c *DB) LockBlobDeletion(ctx context.Context) (*BlobLock, error) {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		now := c.clk.Now()
		busy, err := c.busyAccounts(ctx, tx, now, tx)
		if err != nil {
			return err
		}
		if len(busy) > 0 {
			return fmt.Errorf("%w: snapshots of %d accounts are running", ErrBusy, len(busy))
		}
		var owner string
		var heartbeat int64
		err = tx.QueryRowContext(ctx, `SELECT owner, heartbeat_at FROM locks WHERE name = ?`, blobDeletionLock).
			Scan(&owner, &heartbeat)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case owner != c.owner && c.deadReason(owner, heartbeat, now) == "":
			return fmt.Errorf("%w: %s holds the blob-deletion lock", ErrBusy, owner)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO locks(name, owner, heartbeat_at) VALUES(?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, heartbeat_at = excluded.heartbeat_at`,
			blobDeletionLock, c.owner, now.UnixMilli())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("taking the blob-deletion lock: %w", err)
	}
	return &BlobLock{c: c}, nil
}

// Heartbeat refreshes the lock; it fails with ErrLostOwnership if the lock
// is no longer this process's (another prune took it for dead).
func (l *BlobLock) Heartbeat(ctx context.Context) error {
	return l.c.tx(ctx, func(tx *sql.Tx) error { return l.refresh(ctx, tx) })
}

func (l *BlobLock) refresh(ctx context.Context, tx *sql.Tx) error {
	res, err := tx.ExecContext(ctx, `UPDATE locks SET heartbeat_at = ? WHERE name = ? AND owner = ?`,
		l.c.nowMillis(), blobDeletionLock, l.c.owner)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, fmt.Errorf("blob-deletion lock: %w", ErrLostOwnership))
	}
	return nil
}

// Deletable tells whether blob h may be deleted now: no contents row names
// it. Call it, holding the lock, just before deleting the blob.
func (l *BlobLock) Deletable(ctx context.Context, h [32]byte) (bool, error) {
	content, _, err := l.c.Named(ctx, h)
	return !content, err
}

// Forget removes the garbage rows of hashes whose blobs are deleted (or
// rescued), and refreshes the lock in the same transaction.
func (l *BlobLock) Forget(ctx context.Context, hashes [][32]byte) error {
	return l.c.tx(ctx, func(tx *sql.Tx) error {
		if err := l.refresh(ctx, tx); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `DELETE FROM garbage WHERE hash = ?`, h[:]); err != nil {
				return fmt.Errorf("forgetting blob %x: %w", h[:8], err)
			}
		}
		return nil
	})
}

// Release gives the lock up.
func (l *BlobLock) Release(ctx context.Context) error {
	return l.c.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM locks WHERE name = ? AND owner = ?`, blobDeletionLock, l.c.owner)
		return err
	})
}

// checkNotPruning fails with ErrPruning while a live process holds the
// blob-deletion lock.
const qBlobLock = `SELECT owner, heartbeat_at FROM locks WHERE name = ?`

func (c *DB) checkNotPruning(ctx context.Context, tx *sql.Tx, now time.Time) error {
	var owner string
	var heartbeat int64
	err := c.txRow(ctx, tx, qBlobLock, blobDeletionLock).Scan(&owner, &heartbeat)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	case owner == c.owner || c.deadReason(owner, heartbeat, now) == "":
		return fmt.Errorf("%w (%s)", ErrPruning, owner)
	}
	return nil
}

package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file is the index of a blob store whose objects live elsewhere (S3),
// kept in the catalog database that every node shares (docs/design.md,
// "The blob store on S3"): packs and where each blob is.

// BlobEntry is where one blob is: in pack Pack at Offset, Length bytes of
// entry; or, with Pack 0, in an object of its own.
type BlobEntry struct {
	Hash           [32]byte
	Pack           int64
	Offset, Length int64
	Size           int64 // raw
}

// NewBlobPack reserves the id of a pack about to be uploaded: its row is
// "uploading" until CommitBlobs makes it live.
func (c *DB) NewBlobPack(ctx context.Context) (int64, error) {
	var id int64
	err := c.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO blob_packs(state, created_at) VALUES('uploading', ?) RETURNING id`,
			c.nowMillis()).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("reserving a blob pack: %w", err)
	}
	return id, nil
}

// CommitBlobs makes blobs durable in the index, in one transaction: pack
// (if not 0), uploaded with size bytes, becomes live, and each entry gets
// its row unless its hash has one already (the first copy wins; a second is
// dead bytes). Only after this may the catalog name the blobs.
func (c *DB) CommitBlobs(ctx context.Context, pack, size int64, entries []BlobEntry) error {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		if pack != 0 {
			res, err := tx.ExecContext(ctx, `UPDATE blob_packs SET state = 'live', size = ?2 WHERE id = ?1 AND state = 'uploading'`,
				pack, size)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return errors.Join(fmt.Errorf("pack %d is not uploading", pack), err)
			}
		}
		rows := make([][]any, 0, len(entries))
		seen := make(map[[32]byte]bool, len(entries))
		for _, e := range entries {
			if seen[e.Hash] {
				continue
			}
			seen[e.Hash] = true
			var p any
			if e.Pack != 0 {
				p = e.Pack
			}
			rows = append(rows, []any{e.Hash[:], p, e.Offset, e.Length, e.Size})
		}
		return insertRows(ctx, tx, `INSERT INTO blob_index(hash, pack, entry_offset, entry_length, raw_size) VALUES`,
			rows, `ON CONFLICT (hash) DO NOTHING`, nil)
	})
	if err != nil {
		return fmt.Errorf("indexing blobs: %w", err)
	}
	return nil
}

// LocateBlob returns where blob h is, or ErrNotFound.
func (c *DB) LocateBlob(ctx context.Context, h [32]byte) (BlobEntry, error) {
	e := BlobEntry{Hash: h}
	var pack sql.NullInt64
	err := c.readRow(ctx, `SELECT pack, entry_offset, entry_length, raw_size FROM blob_index WHERE hash = ?`, h[:]).
		Scan(&pack, &e.Offset, &e.Length, &e.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("locating blob %x: %w", h[:8], err)
	}
	e.Pack = pack.Int64
	return e, nil
}

// LocateBlobs returns where the indexed blobs among hs are; hashes that
// are not indexed are left out. One query per maxRowParams hashes, in hash
// order (each query then walks the index's pages in order): the blob store
// looks a batch of new messages up at once instead of one query each.
func (c *DB) LocateBlobs(ctx context.Context, hs [][32]byte) (map[[32]byte]BlobEntry, error) {
	out := make(map[[32]byte]BlobEntry, len(hs))
	hs = slices.SortedFunc(slices.Values(hs), func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	for chunk := range slices.Chunk(slices.Compact(hs), maxRowParams) {
		args := make([]any, len(chunk))
		for i := range chunk {
			args[i] = chunk[i][:]
		}
		rows, err := c.r.QueryContext(ctx, `SELECT hash, pack, entry_offset, entry_length, raw_size FROM blob_index
			WHERE hash IN (`+strings.Repeat("?, ", len(chunk)-1)+`?)`, args...)
		if err != nil {
			return nil, fmt.Errorf("locating %d blobs: %w", len(hs), err)
		}
		for rows.Next() {
			var e BlobEntry
			var h []byte
			var pack sql.NullInt64
			if err := rows.Scan(&h, &pack, &e.Offset, &e.Length, &e.Size); err != nil {
				return nil, errors.Join(fmt.Errorf("locating %d blobs: %w", len(hs), err), rows.Close())
			}
			if len(h) != len(e.Hash) {
				return nil, errors.Join(fmt.Errorf("locating blobs: an index row has a hash of %d bytes", len(h)), rows.Close())
			}
			copy(e.Hash[:], h)
			e.Pack = pack.Int64
			out[e.Hash] = e
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("locating %d blobs: %w", len(hs), err)
		}
	}
	return out, nil
}

// DeleteBlob deletes blob h's index row and says whether there was one.
// Only prune, holding the blob-deletion lock, deletes blobs.
func (c *DB) DeleteBlob(ctx context.Context, h [32]byte) (bool, error) {
	var n int64
	err := c.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blob_index WHERE hash = ?`, h[:])
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("deleting blob %x: %w", h[:8], err)
	}
	return n > 0, nil
}

// ListBlobs calls fn for every indexed blob, in hash order, and stops at
// fn's first error, which it returns unchanged.
func (c *DB) ListBlobs(ctx context.Context, fn func(BlobEntry) error) error {
	rows, err := c.r.QueryContext(ctx, `SELECT hash, pack, entry_offset, entry_length, raw_size FROM blob_index ORDER BY hash`)
	if err != nil {
		return fmt.Errorf("listing blobs: %w", err)
	}
	defer rows.Close() //nolint:errcheck // read only
	for rows.Next() {
		var e BlobEntry
		var hash []byte
		var pack sql.NullInt64
		if err := rows.Scan(&hash, &pack, &e.Offset, &e.Length, &e.Size); err != nil {
			return fmt.Errorf("listing blobs: %w", err)
		}
		copy(e.Hash[:], hash)
		e.Pack = pack.Int64
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing blobs: %w", err)
	}
	return nil
}

// RetireBlobPacks retires the live packs that no index row names any more
// and the packs left uploading since before staleBefore (their writer is
// gone), and returns how many it retired. Their objects are removed only
// after the grace period (RetiredBlobPacks), so a reader that looked a
// blob up just before still finds its object.
func (c *DB) RetireBlobPacks(ctx context.Context, staleBefore time.Time) (int, error) {
	var n int64
	err := c.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE blob_packs SET state = 'retired', retired_at = ?1
			WHERE (state = 'live' AND NOT EXISTS (SELECT 1 FROM blob_index b WHERE b.pack = blob_packs.id))
			OR (state = 'uploading' AND created_at < ?2)`, c.nowMillis(), staleBefore.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retiring blob packs: %w", err)
	}
	return int(n), nil
}

// RetiredBlobPacks returns the packs retired before before: their objects
// may be removed.
func (c *DB) RetiredBlobPacks(ctx context.Context, before time.Time) ([]int64, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT id FROM blob_packs WHERE state = 'retired' AND retired_at < ? ORDER BY id`,
		before.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("listing retired blob packs: %w", err)
	}
	ids, err := scanAll(rows, func(r *sql.Rows) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("listing retired blob packs: %w", err)
	}
	return ids, nil
}

// DropBlobPack forgets a retired pack whose object is removed.
func (c *DB) DropBlobPack(ctx context.Context, id int64) error {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM blob_packs WHERE id = ?1 AND state = 'retired'
			AND NOT EXISTS (SELECT 1 FROM blob_index WHERE pack = ?1)`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("dropping blob pack %d: %w", id, err)
	}
	return nil
}

// BlobPacks calls fn for every pack the index knows, with its state, in id
// order, and stops at fn's first error, which it returns unchanged.
func (c *DB) BlobPacks(ctx context.Context, fn func(id int64, state string) error) error {
	rows, err := c.r.QueryContext(ctx, `SELECT id, state FROM blob_packs ORDER BY id`)
	if err != nil {
		return fmt.Errorf("listing blob packs: %w", err)
	}
	defer rows.Close() //nolint:errcheck // read only
	for rows.Next() {
		var id int64
		var state string
		if err := rows.Scan(&id, &state); err != nil {
			return fmt.Errorf("listing blob packs: %w", err)
		}
		if err := fn(id, state); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing blob packs: %w", err)
	}
	return nil
}

// BlobPackUsage calls fn for every live pack with its size and the bytes
// and number of the entries the index still names in it (compaction picks
// the packs to rewrite from these), in id order.
func (c *DB) BlobPackUsage(ctx context.Context, fn func(id, size, live, entries int64) error) error {
	rows, err := c.r.QueryContext(ctx, `SELECT p.id, p.size, coalesce(sum(b.entry_length), 0), count(b.hash)
		FROM blob_packs p LEFT JOIN blob_index b ON b.pack = p.id WHERE p.state = 'live'
		GROUP BY p.id, p.size ORDER BY p.id`)
	if err != nil {
		return fmt.Errorf("measuring blob packs: %w", err)
	}
	defer rows.Close() //nolint:errcheck // read only
	for rows.Next() {
		var id, size, live, n int64
		if err := rows.Scan(&id, &size, &live, &n); err != nil {
			return fmt.Errorf("measuring blob packs: %w", err)
		}
		if err := fn(id, size, live, n); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("measuring blob packs: %w", err)
	}
	return nil
}

// PackBlobs returns the entries the index names in pack id, by offset.
func (c *DB) PackBlobs(ctx context.Context, id int64) ([]BlobEntry, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT hash, entry_offset, entry_length, raw_size FROM blob_index
		WHERE pack = ? ORDER BY entry_offset`, id)
	if err != nil {
		return nil, fmt.Errorf("listing the blobs of pack %d: %w", id, err)
	}
	out, err := scanAll(rows, func(r *sql.Rows) (BlobEntry, error) {
		e := BlobEntry{Pack: id}
		var hash []byte
		err := r.Scan(&hash, &e.Offset, &e.Length, &e.Size)
		copy(e.Hash[:], hash)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing the blobs of pack %d: %w", id, err)
	}
	return out, nil
}

// MoveBlobs makes the uploaded pack (reserved by NewBlobPack, size bytes)
// live and points the rows of the moved blobs at their copies in it, in
// one transaction: a reader finds each blob complete at every moment. A
// blob whose row is gone meanwhile is not indexed again.
func (c *DB) MoveBlobs(ctx context.Context, pack, size int64, moved []BlobEntry) error {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE blob_packs SET state = 'live', size = ?2 WHERE id = ?1 AND state = 'uploading'`,
			pack, size)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(fmt.Errorf("pack %d is not uploading", pack), err)
		}
		st, err := tx.PrepareContext(ctx, `UPDATE blob_index SET pack = ?1, entry_offset = ?2, entry_length = ?3
			WHERE hash = ?4`)
		if err != nil {
			return err
		}
		for _, e := range moved {
			if _, err := st.ExecContext(ctx, pack, e.Offset, e.Length, e.Hash[:]); err != nil {
				return errors.Join(err, st.Close())
			}
		}
		return st.Close()
	})
	if err != nil {
		return fmt.Errorf("moving blobs to pack %d: %w", pack, err)
	}
	return nil
}

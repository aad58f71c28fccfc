package blobstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mtm/internal/sqlitex"
)

// indexSchema is the schema of blobs/index.db (see docs/design.md).
const indexSchema = `
CREATE TABLE IF NOT EXISTS packs (id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (
  hash BLOB PRIMARY KEY,
  pack INTEGER NOT NULL REFERENCES packs(id),
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blobs_pack ON blobs(pack);
`

// location is where a packed blob's entry is.
type location struct {
	pack   int64
	offset int64
	length int64 // of the entry, header included
	size   int64 // raw size
}

// index is the SQLite index of packed blobs.
type index struct {
	db     *sql.DB
	lookup *sql.Stmt // prepared once: every Put of a small blob asks it
}

func openIndex(ctx context.Context, path string, noSync bool) (*index, error) {
	db, err := sqlitex.Open(path, sqlitex.Options{NoSync: noSync})
	if err != nil {
		return nil, fmt.Errorf("open blob index: %w", err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, indexSchema); err != nil {
		return nil, errors.Join(fmt.Errorf("open blob index %s: %w", path, err), db.Close())
	}
	st, err := db.PrepareContext(ctx, `SELECT pack, offset, length, size FROM blobs WHERE hash = ?`)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open blob index %s: %w", path, err), db.Close())
	}
	return &index{db: db, lookup: st}, nil
}

func (ix *index) close() error { return errors.Join(ix.lookup.Close(), ix.db.Close()) }

// find returns the location of packed blob h, or ok false.
func (ix *index) find(ctx context.Context, h Hash) (location, bool, error) {
	var loc location
	err := ix.lookup.QueryRowContext(ctx, h[:]).Scan(&loc.pack, &loc.offset, &loc.length, &loc.size)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return location{}, false, nil
	case err != nil:
		return location{}, false, fmt.Errorf("blob index: %w", err)
	}
	return loc, true, nil
}

// findMany returns the locations of the packed blobs among hs (those not
// packed are left out), in queries of at most 500 hashes.
func (ix *index) findMany(ctx context.Context, hs []Hash) (map[Hash]location, error) {
	out := make(map[Hash]location, len(hs))
	// In hash order, each query's look-ups walk the index's pages in
	// order: about a third faster than in the caller's order.
	hs = slices.SortedFunc(slices.Values(hs), func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	for len(hs) > 0 {
		n := min(len(hs), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = hs[i][:]
		}
		rows, err := ix.db.QueryContext(ctx, `SELECT hash, pack, offset, length, size FROM blobs WHERE hash IN (?`+
			strings.Repeat(",?", n-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("blob index: %w", err)
		}
		for rows.Next() {
			var h sql.RawBytes
			var loc location
			if err := rows.Scan(&h, &loc.pack, &loc.offset, &loc.length, &loc.size); err != nil {
				return nil, errors.Join(fmt.Errorf("blob index: %w", err), rows.Close())
			}
			out[Hash(h)] = loc
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("blob index: %w", err)
		}
		hs = hs[n:]
	}
	return out, nil
}

// newPack records a new pack and returns its id.
func (ix *index) newPack(ctx context.Context, now time.Time) (int64, error) {
	res, err := ix.db.ExecContext(ctx, `INSERT INTO packs(created_at) VALUES(?)`, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("blob index: new pack: %w", err)
	}
	return res.LastInsertId()
}

// indexed is a packed blob with its location.
type indexed struct {
	hash Hash
	loc  location
}

// insert records the blobs in one transaction; a hash already recorded
// keeps its first location.
func (ix *index) insert(ctx context.Context, bs []indexed) error {
	return ix.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO blobs(hash, pack, offset, length, size) VALUES(?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, b := range bs {
			if _, err := st.ExecContext(ctx, b.hash[:], b.loc.pack, b.loc.offset, b.loc.length, b.loc.size); err != nil {
				return err
			}
		}
		return nil
	})
}

// remove deletes the row of blob h and reports whether there was one.
func (ix *index) remove(ctx context.Context, h Hash) (bool, error) {
	res, err := ix.db.ExecContext(ctx, `DELETE FROM blobs WHERE hash = ?`, h[:])
	if err != nil {
		return false, fmt.Errorf("blob index: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// list calls fn for every packed blob.
func (ix *index) list(ctx context.Context, fn func(indexed) error) error {
	rows, err := ix.db.QueryContext(ctx, `SELECT hash, pack, offset, length, size FROM blobs`)
	if err != nil {
		return fmt.Errorf("blob index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b indexed
		var h []byte
		if err := rows.Scan(&h, &b.loc.pack, &b.loc.offset, &b.loc.length, &b.loc.size); err != nil {
			return fmt.Errorf("blob index: %w", err)
		}
		if len(h) != len(b.hash) {
			return fmt.Errorf("blob index: hash of %d bytes", len(h))
		}
		copy(b.hash[:], h)
		if err := fn(b); err != nil {
			return err
		}
	}
	return rows.Err()
}

// packUse is a pack with the number and bytes of its live entries.
type packUse struct {
	id          int64
	live        int64
	liveEntries int64
}

// packUses returns every pack with its live bytes.
func (ix *index) packUses(ctx context.Context) ([]packUse, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT p.id, COALESCE(SUM(b.length), 0), COUNT(b.hash)
		FROM packs p LEFT JOIN blobs b ON b.pack = p.id GROUP BY p.id ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("blob index: %w", err)
	}
	defer rows.Close()
	var out []packUse
	for rows.Next() {
		var u packUse
		if err := rows.Scan(&u.id, &u.live, &u.liveEntries); err != nil {
			return nil, fmt.Errorf("blob index: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// entriesOf returns the live entries of pack id, by offset.
func (ix *index) entriesOf(ctx context.Context, id int64) ([]indexed, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT hash, offset, length, size FROM blobs WHERE pack = ? ORDER BY offset`, id)
	if err != nil {
		return nil, fmt.Errorf("blob index: %w", err)
	}
	defer rows.Close()
	var out []indexed
	for rows.Next() {
		b := indexed{loc: location{pack: id}}
		var h []byte
		if err := rows.Scan(&h, &b.loc.offset, &b.loc.length, &b.loc.size); err != nil {
			return nil, fmt.Errorf("blob index: %w", err)
		}
		copy(b.hash[:], h)
		out = append(out, b)
	}
	return out, rows.Err()
}

// move points the given blobs, all in pack from, at their new locations and
// forgets pack from, in one transaction. A blob deleted meanwhile stays
// deleted.
func (ix *index) move(ctx context.Context, from int64, moved []indexed) error {
	return ix.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE blobs SET pack = ?, offset = ?, length = ? WHERE hash = ? AND pack = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, b := range moved {
			if _, err := st.ExecContext(ctx, b.loc.pack, b.loc.offset, b.loc.length, b.hash[:], from); err != nil {
				return err
			}
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM blobs WHERE pack = ?`, from).Scan(&left); err != nil {
			return err
		}
		if left != 0 {
			return fmt.Errorf("pack %d still holds %d blobs after moving", from, left)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM packs WHERE id = ?`, from)
		return err
	})
}

// packCreated returns when pack id was created, and whether the index
// knows it.
func (ix *index) packCreated(ctx context.Context, id int64) (time.Time, bool, error) {
	var created int64
	err := ix.db.QueryRowContext(ctx, `SELECT created_at FROM packs WHERE id = ?`, id).Scan(&created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("blob index: %w", err)
	}
	return time.Unix(created, 0), true, nil
}

// dropPack forgets pack id if no blob is in it, and reports whether it did.
func (ix *index) dropPack(ctx context.Context, id int64) (bool, error) {
	res, err := ix.db.ExecContext(ctx, `DELETE FROM packs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM blobs WHERE pack = ?)`, id, id)
	if err != nil {
		return false, fmt.Errorf("blob index: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (ix *index) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("blob index: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(fmt.Errorf("blob index: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("blob index: %w", err)
	}
	return nil
}

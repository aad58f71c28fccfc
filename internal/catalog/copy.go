package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file moves an embedded catalog into PostgreSQL (docs/design.md,
// "Moving a catalog to PostgreSQL"): every row of every table, ids kept,
// in chunks of copyChunk rows, the source read in one read transaction so
// that the copy is one consistent state of it. An interrupted copy is
// marked in the target (meta.catalog_copy): the target refuses to open for
// anything else, and the next copy starts it over.

// copyTables are the tables copied, parents before children (PostgreSQL
// checks the foreign keys as rows arrive). Not copied: schema_migrations
// (the target has its own), locks (leases of running processes),
// search_text (derived from the blobs; rebuilt by the search indexer).
var copyTables = []string{
	"accounts", "account_settings", "snapshots", "contents", "mailboxes", "folders", "entries",
	"staged_entries", "staged_ends", "staged_folders", "staged_mailboxes",
	"garbage", "restores", "restore_appends", "outbox", "account_failures",
	"admins", "audit", "blob_packs", "blob_index", "meta",
}

// copyMarker is the meta key of an unfinished copy into a catalog.
const copyMarker = "catalog_copy"

// copyChunk is how many rows go in one transaction of the target.
const copyChunk = 20000

// ErrUnfinishedCopy: the catalog is the target of a `mtm catalog copy` that
// did not finish.
var ErrUnfinishedCopy = errors.New("catalog: an unfinished `mtm catalog copy` wrote into this database; run the copy again to finish it")

// CopyProgress reports a copy's progress: Rows of Total rows of Table are
// in the target.
type CopyProgress struct {
	Table       string
	Rows, Total int64
}

// CopyStats sums up a finished copy.
type CopyStats struct {
	Tables      int
	Rows        int64
	StartedOver bool // the target held an interrupted copy, removed first
}

// CopyInto copies this catalog (SQLite) into dst (PostgreSQL, migrated to
// the same schema version), which must be empty or hold an interrupted
// copy. progress, if not nil, is called after every chunk. Nothing may
// write this catalog during the copy: the copy fails if something did.
func (c *DB) CopyInto(ctx context.Context, dst *DB, progress func(CopyProgress)) (CopyStats, error) {
	var st CopyStats
	if c.d.pg || !dst.d.pg || dst.pool == nil {
		return st, errors.New("catalog copy: copies an embedded (SQLite) catalog into PostgreSQL")
	}
	conn, err := c.r.Conn(ctx)
	if err != nil {
		return st, fmt.Errorf("catalog copy: %w", err)
	}
	defer conn.Close() //nolint:errcheck // a read connection
	before, err := dataVersion(ctx, conn)
	if err != nil {
		return st, err
	}
	src, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, fmt.Errorf("catalog copy: %w", err)
	}
	defer src.Rollback() //nolint:errcheck // read only
	if st.StartedOver, err = dst.prepareCopyTarget(ctx); err != nil {
		return st, err
	}
	for _, table := range copyTables {
		n, err := copyTable(ctx, src, dst.pool, table, progress)
		st.Rows += n
		if err != nil {
			return st, fmt.Errorf("catalog copy: %s: %w", table, err)
		}
		st.Tables++
	}
	if err := dst.finishCopy(ctx, src); err != nil {
		return st, err
	}
	if after, err := dataVersion(ctx, conn); err != nil {
		return st, err
	} else if after != before {
		return st, dst.markUnfinished(ctx, "the source catalog changed during the copy: stop every mtm using it and copy again")
	}
	return st, nil
}

// dataVersion is SQLite's count of commits made by other connections.
func dataVersion(ctx context.Context, conn *sql.Conn) (int64, error) {
	var v int64
	if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("catalog copy: %w", err)
	}
	return v, nil
}

// prepareCopyTarget checks that the target is empty, or removes an
// interrupted copy from it, and marks the copy begun.
func (c *DB) prepareCopyTarget(ctx context.Context) (startedOver bool, err error) {
	var marker sql.NullString
	err = c.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, copyMarker).Scan(&marker)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("catalog copy: %w", err)
	}
	if !marker.Valid {
		for _, table := range copyTables {
			var rows bool
			q := `SELECT EXISTS (SELECT 1 FROM ` + table + `)`
			if table == "meta" {
				q = `SELECT EXISTS (SELECT 1 FROM meta WHERE key <> 'schema_version')`
			}
			if err := c.w.QueryRowContext(ctx, q).Scan(&rows); err != nil {
				return false, fmt.Errorf("catalog copy: %w", err)
			}
			if rows {
				return false, fmt.Errorf("catalog copy: the target is not empty (table %s has rows); copy into a new database", table)
			}
		}
	}
	err = c.tx(ctx, func(tx *sql.Tx) error {
		if marker.Valid {
			tables := append(append([]string{}, copyTables[:len(copyTables)-1]...), "search_text")
			if _, err := tx.ExecContext(ctx, `TRUNCATE `+strings.Join(tables, ", ")+` RESTART IDENTITY`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key <> 'schema_version'`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)`, copyMarker,
			"begun "+c.clk.Now().UTC().Format(time.RFC3339))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("catalog copy: preparing the target: %w", err)
	}
	return marker.Valid, nil
}

// copyTable copies one table's rows, in rowid order, copyChunk rows per
// transaction of the target, and returns how many it copied.
func copyTable(ctx context.Context, src *sql.Tx, dst *pgxpool.Pool, table string, progress func(CopyProgress)) (int64, error) {
	types, err := columnTypes(ctx, dst, table)
	if err != nil {
		return 0, err
	}
	where := ""
	if table == "meta" {
		where = ` WHERE key NOT IN ('schema_version', '` + copyMarker + `')`
	}
	var total int64
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+table+where).Scan(&total); err != nil {
		return 0, err
	}
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table+where+` ORDER BY rowid`)
	if err != nil {
		return 0, err
	}
	defer rows.Close() //nolint:errcheck // read to the end
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	for _, col := range cols {
		if _, ok := types[col]; !ok {
			return 0, fmt.Errorf("column %s is not in the target's schema", col)
		}
	}
	var copied int64
	more := true
	for more {
		chunk := make([][]any, 0, copyChunk)
		for len(chunk) < copyChunk {
			if more = rows.Next(); !more {
				break
			}
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return copied, err
			}
			for i, col := range cols {
				if vals[i], err = pgValue(vals[i], types[col]); err != nil {
					return copied, fmt.Errorf("column %s: %w", col, err)
				}
			}
			chunk = append(chunk, vals)
		}
		if err := rows.Err(); err != nil {
			return copied, err
		}
		if len(chunk) == 0 {
			break
		}
		err := pgx.BeginFunc(ctx, dst, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(chunk))
			return err
		})
		if err != nil {
			return copied, err
		}
		copied += int64(len(chunk))
		if progress != nil {
			progress(CopyProgress{Table: table, Rows: copied, Total: total})
		}
	}
	if copied == 0 && progress != nil {
		progress(CopyProgress{Table: table, Total: total})
	}
	return copied, nil
}

// columnTypes returns the PostgreSQL types of a table's columns.
func columnTypes(ctx context.Context, pool *pgxpool.Pool, table string) (map[string]string, error) {
	rows, err := pool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		types[name] = typ
	}
	if len(types) == 0 && rows.Err() == nil {
		return nil, fmt.Errorf("the target has no table %s", table)
	}
	return types, rows.Err()
}

// pgValue converts what SQLite stored to the type PostgreSQL's column has:
// SQLite keeps booleans as 0 and 1, and a value's storage class need not
// be the column's.
func pgValue(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "boolean":
		switch b := v.(type) {
		case int64:
			return b != 0, nil
		case bool:
			return b, nil
		}
	case "bigint", "integer":
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case "text":
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case "bytea":
		switch b := v.(type) {
		case []byte:
			return b, nil
		case string:
			return []byte(b), nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("a %T where the target has %s", v, typ)
}

// finishCopy sets the target's identity counters past the copied ids (the
// snapshots' past every id SQLite ever gave, as AUTOINCREMENT never reuses
// one) and removes the copy's mark, in one transaction.
func (c *DB) finishCopy(ctx context.Context, src *sql.Tx) error {
	var snapSeq int64
	err := src.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'snapshots'`).Scan(&snapSeq)
	if err != nil {
		return fmt.Errorf("catalog copy: %w", err)
	}
	err = c.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT table_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'`)
		if err != nil {
			return err
		}
		var tables []string
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				return errors.Join(err, rows.Close())
			}
			tables = append(tables, t)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, t := range tables {
			floor := int64(0)
			if t == "snapshots" {
				floor = snapSeq
			}
			// setval(seq, n, false): the next id given is n.
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?1, 'id'),
				CAST(GREATEST((SELECT coalesce(max(id), 0) FROM `+t+`), ?2) + 1 AS bigint), false)`, t, floor); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, copyMarker)
		return err
	})
	if err != nil {
		return fmt.Errorf("catalog copy: finishing: %w", err)
	}
	return nil
}

// markUnfinished marks the target as holding a copy to start over, and
// returns why.
func (c *DB) markUnfinished(ctx context.Context, why string) error {
	_, err := c.w.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, copyMarker, why)
	return errors.Join(fmt.Errorf("catalog copy: %s", why), err)
}

// refuseUnfinishedCopy fails when the catalog holds an unfinished copy.
func (c *DB) refuseUnfinishedCopy(ctx context.Context) error {
	var n int
	if err := c.w.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key = ?`, copyMarker).Scan(&n); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if n > 0 {
		return ErrUnfinishedCopy
	}
	return nil
}

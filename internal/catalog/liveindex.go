package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// KnownMessage is what the catalog knows of a UID of a mailbox identity.
type KnownMessage struct {
	Hash [32]byte
	Size int64
}

// KnownUIDs returns, by UID, the content of every message the catalog has
// seen in the mailbox identity (account, name, uidvalidity), in any
// snapshot, and of every message a restore appended there. A UID names the
// same bytes for the life of its UIDVALIDITY, so this tells the content of
// a live message without downloading it (docs/workflows.md, "Restore").
func (c *DB) KnownUIDs(ctx context.Context, acct AccountID, name string, uidvalidity uint32) (map[uint32]KnownMessage, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT DISTINCT e.uid, c.hash, c.size FROM entries e
		JOIN mailboxes m ON m.id = e.mailbox_id JOIN contents c ON c.id = e.content_id
		WHERE m.account_id = ?1 AND m.name = ?2 AND m.uidvalidity = ?3
		UNION ALL
		SELECT uid, hash, -1 FROM restore_appends WHERE account_id = ?1 AND folder = ?2 AND uidvalidity = ?3`,
		acct, name, uidvalidity)
	if err != nil {
		return nil, fmt.Errorf("reading known messages of %q: %w", name, err)
	}
	out := map[uint32]KnownMessage{}
	for rows.Next() {
		var uid uint32
		var h []byte
		var k KnownMessage
		if err := rows.Scan(&uid, &h, &k.Size); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		copy(k.Hash[:], h)
		out[uid] = k
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// Appended is a message a restore appended, by its APPENDUID.
type Appended struct {
	Folder      string
	UIDValidity uint32
	UID         uint32
	Hash        [32]byte
}

// RecordAppends records messages a restore appended to the account.
func (c *DB) RecordAppends(ctx context.Context, acct AccountID, appended []Appended) error {
	if len(appended) == 0 {
		return nil
	}
	err := c.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO restore_appends(account_id, folder, uidvalidity,
			uid, hash, created_at) VALUES(?, ?, ?, ?, ?, ?)
			ON CONFLICT(account_id, folder, uidvalidity, uid) DO UPDATE SET hash = excluded.hash,
			created_at = excluded.created_at`)
		if err != nil {
			return err
		}
		defer stmt.Close() //nolint:errcheck // see insertContents
		now := c.nowMillis()
		for _, a := range appended {
			if _, err := stmt.ExecContext(ctx, acct, a.Folder, a.UIDValidity, a.UID, a.Hash[:], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording restored messages: %w", err)
	}
	return nil
}

// RecentAppends tells whether a restore appended to the account since t:
// an attempt that may have died with APPENDs still being stored by the
// server (restore.Request.Settle).
func (c *DB) RecentAppends(ctx context.Context, acct AccountID, since time.Time) (bool, error) {
	var ok bool
	err := c.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM restore_appends WHERE account_id = ? AND created_at >= ?)`,
		acct, since.UnixMilli()).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("looking for recent restores: %w", err)
	}
	return ok, nil
}

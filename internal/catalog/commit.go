package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RunStats are what a run did, recorded on its snapshot row.
type RunStats struct {
	FetchedMessages int64
	FetchedBytes    int64
	NewBlobs        int64
	NewBlobBytes    int64
}

// Commit applies the run's staging in one transaction and makes the
// snapshot visible (design.md, "Commit transaction of snapshot S").
func (r *Run) Commit(ctx context.Context, stats RunStats) (Snapshot, error) {
	err := r.c.tx(ctx, func(tx *sql.Tx) error {
		if err := r.checkOwned(ctx, tx); err != nil {
			return err
		}
		steps := []func(context.Context, *sql.Tx) error{
			r.applyEntries, r.applyFolders, r.closeOrphans, r.applyStates, r.checkNoDoubles,
		}
		for _, step := range steps {
			if err := step(ctx, tx); err != nil {
				return err
			}
		}
		return r.finish(ctx, tx, stats)
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("committing snapshot %d: %w", r.ID, err)
	}
	return r.c.Snapshot(ctx, r.ID)
}

func (r *Run) applyEntries(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE entries SET end_snap = ?1 WHERE end_snap IS NULL
		AND id IN (SELECT entry_id FROM staged_ends WHERE snapshot_id = ?1)`, r.ID); err != nil {
		return fmt.Errorf("ending versions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO entries(account_id, mailbox_id, uid, content_id, flags,
		internal_date, internal_tz, first_snap) SELECT account_id, mailbox_id, uid, content_id, flags, internal_date,
		internal_tz, ?1 FROM staged_entries WHERE account_id = ?2 AND snapshot_id = ?1 ORDER BY mailbox_id, uid`,
		r.ID, int64(r.Account)); err != nil {
		return fmt.Errorf("adding versions: %w", err)
	}
	return nil
}

type folderRow struct {
	id         int64
	mailboxID  sql.NullInt64
	delimiter  string
	attributes string
	specialUse string
	subscribed bool
}

func (a folderRow) same(b folderRow) bool {
	return a.mailboxID == b.mailboxID && a.delimiter == b.delimiter && a.attributes == b.attributes &&
		a.specialUse == b.specialUse && a.subscribed == b.subscribed
}

func scanFolders(rows *sql.Rows) (map[string]folderRow, error) {
	out := make(map[string]folderRow)
	for rows.Next() {
		var name string
		var f folderRow
		if err := rows.Scan(&name, &f.id, &f.mailboxID, &f.delimiter, &f.attributes, &f.specialUse, &f.subscribed); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		out[name] = f
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// applyFolders closes folder versions that vanished or changed and opens
// the new ones.
func (r *Run) applyFolders(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT name, id, mailbox_id, delimiter, attributes, special_use, subscribed
		FROM folders WHERE account_id = ? AND end_snap IS NULL`, r.Account)
	if err != nil {
		return err
	}
	live, err := scanFolders(rows)
	if err != nil {
		return fmt.Errorf("reading live folders: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT name, 0, mailbox_id, delimiter, attributes, special_use, subscribed
		FROM staged_folders WHERE snapshot_id = ?`, r.ID)
	if err != nil {
		return err
	}
	staged, err := scanFolders(rows)
	if err != nil {
		return fmt.Errorf("reading staged folders: %w", err)
	}
	for name, old := range live {
		if nw, ok := staged[name]; ok && nw.same(old) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE folders SET end_snap = ? WHERE id = ?`, r.ID, old.id); err != nil {
			return fmt.Errorf("closing folder %q: %w", name, err)
		}
	}
	for name, nw := range staged {
		if old, ok := live[name]; ok && nw.same(old) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO folders(account_id, name, mailbox_id, delimiter, attributes,
			special_use, subscribed, first_snap) VALUES(?, ?, ?, ?, ?, ?, ?, ?)`, r.Account, name, nw.mailboxID,
			nw.delimiter, nw.attributes, nw.specialUse, nw.subscribed, r.ID); err != nil {
			return fmt.Errorf("opening folder %q: %w", name, err)
		}
	}
	return nil
}

// closeOrphans ends live versions of mailbox identities that no folder of
// the snapshot points at any more: deleted folders, or replaced UIDVALIDITY.
func (r *Run) closeOrphans(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE entries SET end_snap = ?1 WHERE end_snap IS NULL
		AND mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?2)
		AND mailbox_id NOT IN (SELECT mailbox_id FROM staged_folders WHERE snapshot_id = ?1 AND mailbox_id IS NOT NULL)`,
		r.ID, r.Account)
	if err != nil {
		return fmt.Errorf("closing vanished mailboxes: %w", err)
	}
	return nil
}

func (r *Run) applyStates(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE mailboxes SET
		last_uid = s.last_uid, uidnext = s.uidnext, highest_modseq = s.highest_modseq
		FROM (SELECT mailbox_id, last_uid, uidnext, highest_modseq FROM staged_mailboxes WHERE snapshot_id = ?) AS s
		WHERE mailboxes.id = s.mailbox_id`, r.ID)
	if err != nil {
		return fmt.Errorf("updating sync state: %w", err)
	}
	return nil
}

// checkNoDoubles refuses a commit that would leave two live versions of one
// message: the last line of defence for "nothing doubled".
func (r *Run) checkNoDoubles(ctx context.Context, tx *sql.Tx) error {
	var mb, uid, n int64
	err := tx.QueryRowContext(ctx, `SELECT mailbox_id, uid, count(*) FROM entries
		WHERE end_snap IS NULL AND mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)
		GROUP BY mailbox_id, uid HAVING count(*) > 1 LIMIT 1`, r.Account).Scan(&mb, &uid, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking live versions: %w", err)
	}
	return fmt.Errorf("internal error: %d live versions of mailbox %d uid %d", n, mb, uid)
}

func (r *Run) finish(ctx context.Context, tx *sql.Tx, stats RunStats) error {
	var folders, messages, bytes int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM staged_folders WHERE snapshot_id = ?`, r.ID).Scan(&folders); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(c.size), 0) FROM entries e
		JOIN contents c ON c.id = e.content_id WHERE e.end_snap IS NULL
		AND e.mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)`, r.Account).Scan(&messages, &bytes); err != nil {
		return fmt.Errorf("totalling snapshot: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE snapshots SET state = 'committed', finished_at = ?, folders = ?,
		messages = ?, bytes = ?, fetched_messages = ?, fetched_bytes = ?, new_blobs = ?, new_blob_bytes = ?
		WHERE id = ?`, r.c.nowMillis(), folders, messages, bytes, stats.FetchedMessages, stats.FetchedBytes,
		stats.NewBlobs, stats.NewBlobBytes, r.ID); err != nil {
		return err
	}
	// The staging of this run and of the account's failed runs is spent.
	for _, table := range []string{"staged_entries", "staged_ends", "staged_folders", "staged_mailboxes"} {
		q := fmt.Sprintf(`DELETE FROM %s WHERE snapshot_id = ?1 OR snapshot_id IN
			(SELECT id FROM snapshots WHERE account_id = ?2 AND state = 'failed')`, table)
		if _, err := tx.ExecContext(ctx, q, r.ID, r.Account); err != nil {
			return fmt.Errorf("clearing staging: %w", err)
		}
	}
	return nil
}

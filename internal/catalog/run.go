package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SnapshotID identifies a snapshot; ids increase with time and are never
// reused.
type SnapshotID int64

// Run is one snapshot of one account being taken. Its staging becomes the
// snapshot's view only by Commit; until then no view changes.
type Run struct {
	c       *DB
	ID      SnapshotID
	Account AccountID
	TakenAt time.Time
	Day     string
}

// BeginSnapshot starts a snapshot of acct. Running snapshots of the account
// whose owner is gone are marked failed first; a live one yields ErrBusy.
// While prune deletes blobs it yields ErrPruning.
func (c *DB) BeginSnapshot(ctx context.Context, acct AccountID) (*Run, error) {
	now := c.clk.Now()
	r := &Run{c: c, Account: acct, TakenAt: now, Day: now.In(c.loc).Format(time.DateOnly)}
	err := c.tx(ctx, func(tx *sql.Tx) error {
		if err := c.checkNotPruning(ctx, tx, now); err != nil {
			return err
		}
		if err := c.reapStale(ctx, tx, acct, now); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO snapshots(account_id, state, taken_at, day, owner, heartbeat_at)
			VALUES(?, 'running', ?, ?, ?, ?) RETURNING id`,
			acct, now.UnixMilli(), r.Day, c.owner, now.UnixMilli()).Scan(&r.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("beginning snapshot: %w", err)
	}
	return r, nil
}

func (c *DB) reapStale(ctx context.Context, tx *sql.Tx, acct AccountID, now time.Time) error {
	all, err := holders(ctx, tx, `SELECT id, account_id, owner, heartbeat_at FROM snapshots
		WHERE account_id = ? AND state = 'running'`, acct)
	if err != nil {
		return err
	}
	for _, s := range all {
		reason := c.deadReason(s.owner, s.heartbeat, now)
		if reason == "" {
			return fmt.Errorf("%w (snapshot %d, %s)", ErrBusy, s.id, s.owner)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE snapshots SET state='failed', error=?, finished_at=?
			WHERE id = ? AND state = 'running'`, reason, now.UnixMilli(), s.id); err != nil {
			return err
		}
	}
	return nil
}

// checkOwned fails with ErrLostOwnership unless the run's row is still
// running and ours, and refreshes its heartbeat.
func (r *Run) checkOwned(ctx context.Context, tx *sql.Tx) error {
	one, err := affectedOne(tx.ExecContext(ctx, `UPDATE snapshots SET heartbeat_at = ?
		WHERE id = ? AND state = 'running' AND owner = ?`, r.c.nowMillis(), r.ID, r.c.owner))
	if err != nil {
		return err
	}
	if !one {
		return fmt.Errorf("snapshot %d: %w", r.ID, ErrLostOwnership)
	}
	return nil
}

// Heartbeat tells other processes the run is alive.
func (r *Run) Heartbeat(ctx context.Context) error {
	return r.c.tx(ctx, func(tx *sql.Tx) error { return r.checkOwned(ctx, tx) })
}

// LiveFolder is a folder of the last committed snapshot, with the sync
// state of its mailbox identity (zero for containers).
type LiveFolder struct {
	Name       string
	Mailbox    Mailbox // ID 0 for a folder with no mailbox (\Noselect)
	Live       int64   // the mailbox's live messages
	Delimiter  string
	Attributes []string
	SpecialUse string
	Subscribed bool
}

// Mailbox is a mailbox identity and its sync state as of the last commit.
type Mailbox struct {
	ID            int64
	Name          string
	UIDValidity   uint32
	LastUID       uint32
	UIDNext       uint32
	HighestModSeq uint64
}

// LiveFolders returns the folders of the account's last committed snapshot.
func (r *Run) LiveFolders(ctx context.Context) ([]LiveFolder, error) {
	return r.c.liveFolders(ctx, r.Account)
}

// Mailbox returns the identity (name, uidvalidity) of the run's account,
// creating it with empty sync state.
func (r *Run) Mailbox(ctx context.Context, name string, uidvalidity uint32) (Mailbox, error) {
	m := Mailbox{Name: name, UIDValidity: uidvalidity}
	err := r.c.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO mailboxes(account_id, name, uidvalidity) VALUES(?, ?, ?)
			ON CONFLICT(account_id, name, uidvalidity) DO UPDATE SET name = excluded.name
			RETURNING id, last_uid, uidnext, highest_modseq`, r.Account, name, uidvalidity).
			Scan(&m.ID, &m.LastUID, &m.UIDNext, &m.HighestModSeq)
	})
	if err != nil {
		return Mailbox{}, fmt.Errorf("mailbox %q uidvalidity %d: %w", name, uidvalidity, err)
	}
	return m, nil
}

// LiveEntry is a message version of the last committed snapshot.
type LiveEntry struct {
	ID           int64
	UID          uint32
	ContentID    int64
	Flags        string // canonical form, see JoinFlags
	InternalDate time.Time
}

// LiveEntries calls fn for the live versions of the mailbox with
// from <= UID <= to, in UID order, streaming.
func (r *Run) LiveEntries(ctx context.Context, mailboxID int64, from, to uint32, fn func(LiveEntry) error) error {
	rows, err := r.c.r.QueryContext(ctx, `SELECT id, uid, content_id, flags, internal_date, internal_tz FROM entries
		WHERE mailbox_id = ? AND end_snap IS NULL AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxID, from, to)
	if err != nil {
		return fmt.Errorf("reading live messages: %w", err)
	}
	for rows.Next() {
		var e LiveEntry
		var sec int64
		var tz int
		if err := rows.Scan(&e.ID, &e.UID, &e.ContentID, &e.Flags, &sec, &tz); err != nil {
			return errors.Join(err, rows.Close())
		}
		e.InternalDate = internalTime(sec, tz)
		if err := fn(e); err != nil {
			return errors.Join(err, rows.Close())
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}

// Resumable is a message an earlier, failed run of the account already
// downloaded and staged.
type Resumable struct {
	ContentID int64
	Hash      [32]byte
}

// Resumables returns, by UID, what failed runs of the account staged for
// the mailbox identity.
func (r *Run) Resumables(ctx context.Context, mailboxID int64) (map[uint32]Resumable, error) {
	rows, err := r.c.r.QueryContext(ctx, `SELECT se.uid, c.id, c.hash FROM staged_entries se
		JOIN snapshots s ON s.id = se.snapshot_id JOIN contents c ON c.id = se.content_id
		WHERE se.mailbox_id = ? AND s.account_id = ? AND s.state = 'failed'`, mailboxID, r.Account)
	if err != nil {
		return nil, fmt.Errorf("reading resumable messages: %w", err)
	}
	out := make(map[uint32]Resumable)
	for rows.Next() {
		var uid uint32
		var res Resumable
		var h []byte
		if err := rows.Scan(&uid, &res.ContentID, &h); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		copy(res.Hash[:], h)
		out[uid] = res
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// FolderState is one folder as listed by the server during the run.
type FolderState struct {
	Name       string
	MailboxID  int64 // 0 for a \Noselect or \NonExistent container
	Delimiter  string
	Attributes []string
	SpecialUse string
	Subscribed bool
}

// StageFolders records the run's complete folder list, replacing any
// earlier staging of it.
func (r *Run) StageFolders(ctx context.Context, folders []FolderState) error {
	return r.c.tx(ctx, func(tx *sql.Tx) error {
		if err := r.checkOwned(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM staged_folders WHERE snapshot_id = ?`, r.ID); err != nil {
			return err
		}
		for _, f := range folders {
			var mb any
			if f.MailboxID != 0 {
				mb = f.MailboxID
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO staged_folders(account_id, snapshot_id, name, mailbox_id,
				delimiter, attributes, special_use, subscribed) VALUES(?, ?, ?, ?, ?, ?, ?, ?)`,
				int64(r.Account), r.ID, f.Name, mb, f.Delimiter, strings.Join(f.Attributes, " "), f.SpecialUse, f.Subscribed); err != nil {
				return fmt.Errorf("staging folder %q: %w", f.Name, err)
			}
		}
		return nil
	})
}

// Fail records the run as failed with its reason. Its staging stays for the
// next run to reuse.
func (r *Run) Fail(ctx context.Context, reason string) error {
	return r.c.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE snapshots SET state = 'failed', error = ?, finished_at = ?
			WHERE id = ? AND state = 'running' AND owner = ?`, reason, r.c.nowMillis(), r.ID, r.c.owner)
		return err
	})
}

func internalTime(sec int64, tzMinutes int) time.Time {
	return time.Unix(sec, 0).In(time.FixedZone("", tzMinutes*60))
}

func normalizeAddress(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

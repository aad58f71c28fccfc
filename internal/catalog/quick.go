package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrStale: the account's catalog state changed since it was read (another
// snapshot was committed meanwhile).
var ErrStale = errors.New("the account's catalog state changed since it was read")

// AccountState is what a snapshot of an account starts from: the account
// (created if it is new), its last committed snapshot, and the folder
// versions of that snapshot with their mailbox identities, sync states and
// live message counts.
type AccountState struct {
	Account       AccountID
	LastCommitted Snapshot // ID 0: none yet
	Folders       []LiveFolder
}

// AccountState reads the state a snapshot of address starts from. It
// writes only to create a new account.
func (c *DB) AccountState(ctx context.Context, address string) (AccountState, error) {
	acct, err := c.LookupAccount(ctx, address)
	if errors.Is(err, ErrNotFound) {
		acct, err = c.Account(ctx, address)
	}
	if err != nil {
		return AccountState{}, err
	}
	st := AccountState{Account: acct}
	st.LastCommitted, err = scanSnapshot(c.readRow(ctx, `SELECT `+snapshotCols+` FROM snapshots
		WHERE account_id = ? AND state = 'committed' ORDER BY id DESC LIMIT 1`, acct))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return AccountState{}, fmt.Errorf("reading the last snapshot of %s: %w", address, err)
	}
	if st.Folders, err = c.liveFolders(ctx, acct); err != nil {
		return AccountState{}, err
	}
	return st, nil
}

// QuickCommit records a snapshot of an account whose mail did not change
// since its last committed snapshot, basedOn (docs/design.md, "IMAP sync
// algorithm", step 5): one committed row with basedOn's totals, taken at
// takenAt, in a transaction shared with concurrent quick commits. It
// changes no view and names no blob. It fails with ErrStale when another
// snapshot of the account was committed since basedOn, with ErrBusy while a
// run of the account is running (live or not: the full run reaps it), and
// with ErrPruning while prune deletes blobs; the caller then takes a full
// snapshot.
func (c *DB) QuickCommit(ctx context.Context, acct AccountID, basedOn SnapshotID, takenAt time.Time) (Snapshot, error) {
	var s Snapshot
	err := c.groupTx(func(tx *sql.Tx) error {
		now := c.clk.Now()
		if err := c.checkNotPruning(ctx, tx, now); err != nil {
			return err
		}
		var running int
		var last sql.NullInt64
		if err := c.txRow(ctx, tx, qRunsOfAccount, acct).Scan(&running, &last); err != nil {
			return err
		}
		switch {
		case running > 0:
			return ErrBusy
		case !last.Valid || SnapshotID(last.Int64) != basedOn:
			return fmt.Errorf("%w (last committed snapshot %d, read %d)", ErrStale, last.Int64, basedOn)
		}
		day := takenAt.In(c.loc).Format(time.DateOnly)
		row := c.txRow(ctx, tx, qQuickSnapshot, takenAt.UnixMilli(), now.UnixMilli(), day, c.owner, now.UnixMilli(), basedOn)
		var err error
		s, err = scanSnapshot(row)
		return err
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("committing the unchanged snapshot: %w", err)
	}
	return s, nil
}

// The write queries Open prepares (see stmts.prepare): those of every
// unchanged account's night.
var writeQueries = []string{qRunsOfAccount, qQuickSnapshot, qBlobLock}

const (
	qRunsOfAccount = `SELECT count(*) FILTER (WHERE state = 'running'),
		max(id) FILTER (WHERE state = 'committed') FROM snapshots WHERE account_id = ?`
	qQuickSnapshot = `INSERT INTO snapshots(account_id, state, taken_at, finished_at, day, owner, heartbeat_at,
		folders, messages, bytes)
		SELECT account_id, 'committed', ?, ?, ?, ?, ?, folders, messages, bytes FROM snapshots WHERE id = ?
		RETURNING ` + snapshotCols
)

// liveFolders reads the folder versions of the account's last committed
// snapshot, with their mailbox identities and live message counts.
func (c *DB) liveFolders(ctx context.Context, acct AccountID) ([]LiveFolder, error) {
	rows, err := c.readRows(ctx, `SELECT f.name, f.delimiter, f.attributes, f.special_use, f.subscribed,
		coalesce(m.id, 0), coalesce(m.uidvalidity, 0), coalesce(m.last_uid, 0), coalesce(m.uidnext, 0),
		coalesce(m.highest_modseq, 0),
		CASE WHEN m.id IS NULL THEN 0 ELSE
			(SELECT count(*) FROM entries e WHERE e.mailbox_id = m.id AND e.end_snap IS NULL) END
		FROM folders f LEFT JOIN mailboxes m ON m.id = f.mailbox_id
		WHERE f.account_id = ? AND f.end_snap IS NULL ORDER BY f.name`, acct)
	if err != nil {
		return nil, fmt.Errorf("reading live folders: %w", err)
	}
	out, err := scanAll(rows, func(r *sql.Rows) (LiveFolder, error) {
		var f LiveFolder
		var attrs string
		m := &f.Mailbox
		err := r.Scan(&f.Name, &f.Delimiter, &attrs, &f.SpecialUse, &f.Subscribed, &m.ID, &m.UIDValidity,
			&m.LastUID, &m.UIDNext, &m.HighestModSeq, &f.Live)
		m.Name = f.Name
		if attrs != "" {
			f.Attributes = strings.Split(attrs, " ")
		}
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading live folders: %w", err)
	}
	return out, nil
}

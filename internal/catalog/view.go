package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Snapshot states.
const (
	StateRunning   = "running"
	StateCommitted = "committed"
	StateFailed    = "failed"
)

// Snapshot is a snapshot row.
type Snapshot struct {
	ID              SnapshotID
	Account         AccountID
	State           string
	TakenAt         time.Time
	FinishedAt      time.Time // zero while running
	Day             string    // YYYY-MM-DD in the catalog's zone
	Error           string    // why a failed run failed
	Folders         int64
	Messages        int64
	Bytes           int64
	FetchedMessages int64
	FetchedBytes    int64
	NewBlobs        int64
	NewBlobBytes    int64
}

const snapshotCols = `id, account_id, state, taken_at, coalesce(finished_at, 0), day, error, folders, messages, bytes,
	fetched_messages, fetched_bytes, new_blobs, new_blob_bytes`

func scanSnapshot(row interface{ Scan(...any) error }) (Snapshot, error) {
	var s Snapshot
	var taken, finished int64
	err := row.Scan(&s.ID, &s.Account, &s.State, &taken, &finished, &s.Day, &s.Error, &s.Folders, &s.Messages,
		&s.Bytes, &s.FetchedMessages, &s.FetchedBytes, &s.NewBlobs, &s.NewBlobBytes)
	s.TakenAt = time.UnixMilli(taken).UTC()
	if finished != 0 {
		s.FinishedAt = time.UnixMilli(finished).UTC()
	}
	return s, err
}

// Snapshot returns one snapshot row, or ErrNotFound.
func (c *DB) Snapshot(ctx context.Context, id SnapshotID) (Snapshot, error) {
	s, err := scanSnapshot(c.r.QueryRowContext(ctx, `SELECT `+snapshotCols+` FROM snapshots WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("snapshot %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot %d: %w", id, err)
	}
	return s, nil
}

// Snapshots returns every snapshot row of the account, in any state, oldest
// first.
func (c *DB) Snapshots(ctx context.Context, acct AccountID) ([]Snapshot, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT `+snapshotCols+` FROM snapshots WHERE account_id = ? ORDER BY id`, acct)
	if err != nil {
		return nil, fmt.Errorf("listing snapshots: %w", err)
	}
	return scanAll(rows, func(r *sql.Rows) (Snapshot, error) { return scanSnapshot(r) })
}

// SnapshotOfDay returns the last committed snapshot of the account on day
// (YYYY-MM-DD), or ErrNotFound.
func (c *DB) SnapshotOfDay(ctx context.Context, acct AccountID, day string) (Snapshot, error) {
	s, err := scanSnapshot(c.r.QueryRowContext(ctx, `SELECT `+snapshotCols+` FROM snapshots
		WHERE account_id = ? AND day = ? AND state = 'committed' ORDER BY id DESC LIMIT 1`, acct, day))
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("snapshot of %s: %w", day, ErrNotFound)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot of %s: %w", day, err)
	}
	return s, nil
}

// KeptDays are the days an account's user sees, newest first: of snaps
// (the account's snapshot rows, oldest first, as Snapshots returns them),
// the last committed snapshot of each day, at most n days. The webmail's
// day picker and the IMAP server's day folders both show these.
func KeptDays(snaps []Snapshot, n int) []Snapshot {
	var out []Snapshot
	seen := map[string]bool{}
	for i := len(snaps) - 1; i >= 0 && len(out) < n; i-- {
		if sn := snaps[i]; sn.State == StateCommitted && !seen[sn.Day] {
			seen[sn.Day] = true
			out = append(out, sn)
		}
	}
	return out
}

// Folder is a folder in a snapshot's view.
type Folder struct {
	Name        string
	MailboxID   int64 // 0 for a container that holds no messages
	UIDValidity uint32
	Delimiter   string
	Attributes  []string
	SpecialUse  string
	Subscribed  bool
	Messages    int64
	Bytes       int64
}

func committed(s Snapshot) error {
	if s.State != StateCommitted {
		return fmt.Errorf("snapshot %d is %s, not committed", s.ID, s.State)
	}
	return nil
}

// Folders returns the folders of a committed snapshot, ordered by name.
func (c *DB) Folders(ctx context.Context, s Snapshot) ([]Folder, error) {
	if err := committed(s); err != nil {
		return nil, err
	}
	rows, err := c.r.QueryContext(ctx, `SELECT f.name, coalesce(f.mailbox_id, 0), coalesce(m.uidvalidity, 0),
		f.delimiter, f.attributes, f.special_use, f.subscribed,
		(SELECT count(*) FROM entries e WHERE e.mailbox_id = f.mailbox_id AND e.first_snap <= ?1
			AND (e.end_snap IS NULL OR e.end_snap > ?1)),
		(SELECT coalesce(sum(c.size), 0) FROM entries e JOIN contents c ON c.id = e.content_id
			WHERE e.mailbox_id = f.mailbox_id AND e.first_snap <= ?1 AND (e.end_snap IS NULL OR e.end_snap > ?1))
		FROM folders f LEFT JOIN mailboxes m ON m.id = f.mailbox_id
		WHERE f.account_id = ?2 AND f.first_snap <= ?1 AND (f.end_snap IS NULL OR f.end_snap > ?1)
		ORDER BY f.name`, s.ID, s.Account)
	if err != nil {
		return nil, fmt.Errorf("listing folders of snapshot %d: %w", s.ID, err)
	}
	var out []Folder
	for rows.Next() {
		var f Folder
		var attrs string
		if err := rows.Scan(&f.Name, &f.MailboxID, &f.UIDValidity, &f.Delimiter, &attrs, &f.SpecialUse,
			&f.Subscribed, &f.Messages, &f.Bytes); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		if attrs != "" {
			f.Attributes = strings.Split(attrs, " ")
		}
		out = append(out, f)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// Message is a message in a snapshot's view.
type Message struct {
	EntryID      int64
	MailboxID    int64
	UID          uint32
	Flags        []string
	InternalDate time.Time
	Content
}

// Messages calls fn for each message of the folder's mailbox in a committed
// snapshot, in UID order, streaming, as a mail client lists a folder: its
// entry, UID, flags, arrival time, and its content's hash, sizes and Date:
// header. The rest of the summary (From, To, Cc, Subject, MessageID,
// HasAttachments) is left empty: MessagesByID reads it. A folder of 50,000
// messages is listed for every IMAP SELECT, export and restore; the
// summary's strings would double its cost.
func (c *DB) Messages(ctx context.Context, s Snapshot, mailboxID int64, fn func(Message) error) error {
	if err := committed(s); err != nil {
		return err
	}
	rows, err := c.r.QueryContext(ctx, `SELECT e.id, e.uid, e.flags, e.internal_date, e.internal_tz,
		c.hash, c.size, c.stored_size, c.date
		FROM entries e JOIN contents c ON c.id = e.content_id
		WHERE e.mailbox_id = ?1 AND e.first_snap <= ?2 AND (e.end_snap IS NULL OR e.end_snap > ?2)
		ORDER BY e.uid`, mailboxID, s.ID)
	if err != nil {
		return fmt.Errorf("listing messages of snapshot %d: %w", s.ID, err)
	}
	for rows.Next() {
		m := Message{MailboxID: mailboxID}
		var flags string
		var sec, date int64
		var tz int
		var hash sql.RawBytes
		if err := rows.Scan(&m.EntryID, &m.UID, &flags, &sec, &tz, &hash, &m.Size, &m.StoredSize, &date); err != nil {
			return errors.Join(err, rows.Close())
		}
		m.Flags = SplitFlags(flags)
		m.InternalDate = internalTime(sec, tz)
		copy(m.Hash[:], hash)
		if date != 0 {
			m.Date = time.Unix(date, 0).UTC()
		}
		if err := fn(m); err != nil {
			return errors.Join(err, rows.Close())
		}
	}
	return errors.Join(rows.Err(), rows.Close())
}

// CountRows counts the rows of a catalog table, for tests and reports.
func (c *DB) CountRows(ctx context.Context, table string) (int, error) {
	switch table {
	case "accounts", "snapshots", "contents", "mailboxes", "folders", "entries",
		"staged_entries", "staged_ends", "staged_folders", "staged_mailboxes", "garbage", "locks", "restores", "restore_appends":
	default:
		return 0, fmt.Errorf("unknown catalog table %q", table)
	}
	var n int
	err := c.r.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n)
	return n, err
}

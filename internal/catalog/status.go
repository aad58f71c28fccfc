package catalog

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// AccountStatus is one account's line on the admins' Backups page.
type AccountStatus struct {
	Address string
	// LastSuccess is the account's newest committed snapshot (ID 0 if it
	// has none); Duration is how long it took.
	LastSuccess Snapshot
	Duration    time.Duration
	// LastError is why the account's backups fail now: the scheduler's
	// error of the latest failed night while a failure streak lasts, else
	// the error of a failed snapshot newer than LastSuccess; "" when the
	// newest attempt succeeded. LastErrorAt is when that snapshot was
	// taken (zero when the error comes from the streak only).
	LastError   string
	LastErrorAt time.Time
	// FailingNights counts the consecutive failed nights of the current
	// streak, FailingSince names its first night (YYYY-MM-DD).
	FailingNights int
	FailingSince  string
	// Notified is when the account's admins were told of the streak.
	Notified time.Time
	// Running is set while a snapshot of the account is being taken.
	Running bool
}

// Failing tells whether the account's backups are failing now.
func (s AccountStatus) Failing() bool { return s.LastError != "" || s.FailingNights > 0 }

// BackupStatus returns every account of the catalog with its last
// successful snapshot and its current error: failing accounts first (the
// longest streak first), then the others, each group by address.
func (c *DB) BackupStatus(ctx context.Context) ([]AccountStatus, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT a.address,
			coalesce(ok.id, 0), coalesce(ok.taken_at, 0), coalesce(ok.finished_at, 0), coalesce(ok.day, ''),
			coalesce(ok.folders, 0), coalesce(ok.messages, 0), coalesce(ok.bytes, 0),
			coalesce(bad.taken_at, 0), coalesce(bad.error, ''),
			coalesce(f.nights, 0), coalesce(f.first_night, ''), coalesce(f.last_error, ''),
			coalesce(f.notified_at, 0),
			EXISTS (SELECT 1 FROM snapshots r WHERE r.account_id = a.id AND r.state = 'running')
		FROM accounts a
		LEFT JOIN snapshots ok ON ok.id = (SELECT max(id) FROM snapshots
			WHERE account_id = a.id AND state = 'committed')
		LEFT JOIN snapshots bad ON bad.id = (SELECT max(id) FROM snapshots
			WHERE account_id = a.id AND state = 'failed' AND id > coalesce(ok.id, 0))
		LEFT JOIN account_failures f ON f.account_id = a.id`)
	if err != nil {
		return nil, fmt.Errorf("reading backup status: %w", err)
	}
	out, err := scanAll(rows, func(r *sql.Rows) (AccountStatus, error) { return scanStatus(r) })
	if err != nil {
		return nil, fmt.Errorf("reading backup status: %w", err)
	}
	slices.SortFunc(out, func(a, b AccountStatus) int {
		if a.Failing() != b.Failing() {
			if a.Failing() {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.FailingNights, a.FailingNights), cmp.Compare(a.Address, b.Address))
	})
	return out, nil
}

func scanStatus(row interface{ Scan(...any) error }) (AccountStatus, error) {
	var s AccountStatus
	ok := &s.LastSuccess
	var taken, finished, badAt, notified int64
	var streakErr string
	err := row.Scan(&s.Address, &ok.ID, &taken, &finished, &ok.Day, &ok.Folders, &ok.Messages, &ok.Bytes,
		&badAt, &s.LastError, &s.FailingNights, &s.FailingSince, &streakErr, &notified, &s.Running)
	if err != nil {
		return s, err
	}
	if ok.ID != 0 {
		ok.State = StateCommitted
		ok.TakenAt = time.UnixMilli(taken).UTC()
		ok.FinishedAt = time.UnixMilli(finished).UTC()
		s.Duration = ok.FinishedAt.Sub(ok.TakenAt)
	}
	if s.LastError != "" {
		s.LastErrorAt = time.UnixMilli(badAt).UTC()
	}
	if streakErr != "" {
		s.LastError = streakErr
	}
	if notified != 0 {
		s.Notified = time.UnixMilli(notified).UTC()
	}
	return s, nil
}

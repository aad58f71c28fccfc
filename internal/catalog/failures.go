package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FailureStreak is an account's run of consecutive failed nights, as the
// scheduler records it in account_failures (docs/workflows.md, "Scheduler"). An
// account whose last recorded night succeeded has no streak (Nights 0).
type FailureStreak struct {
	Address    string
	Nights     int    // consecutive failed nights; 0: the last night succeeded
	FirstNight string // YYYY-MM-DD of the streak's first failed night
	FirstError string
	LastNight  string // YYYY-MM-DD of its latest failed night
	LastError  string
	// NotifiedAt is when the account's admins were told of this streak;
	// zero while they have not been.
	NotifiedAt time.Time
}

// RecordNight records the outcome of the night (YYYY-MM-DD of its
// scheduled run) for the account: failure is why it failed, "" if it
// succeeded. A success ends the streak; a failure on a later night than the
// streak's last one lengthens it; a failure on the same night (a retry, or
// a catch-up after a restart) only replaces its error. It returns the
// streak as it now stands.
func (c *DB) RecordNight(ctx context.Context, address, night, failure string) (FailureStreak, error) {
	st := FailureStreak{Address: normalizeAddress(address)}
	err := c.tx(ctx, func(tx *sql.Tx) error {
		var acct AccountID
		if err := tx.QueryRowContext(ctx, `INSERT INTO accounts(address, created_at) VALUES(?, ?)
			ON CONFLICT(address) DO UPDATE SET address=excluded.address RETURNING id`,
			st.Address, c.nowMillis()).Scan(&acct); err != nil {
			return err
		}
		if failure == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM account_failures WHERE account_id = ?`, acct)
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO account_failures(account_id, nights, first_night,
				first_error, last_night, last_error) VALUES(?1, 1, ?2, ?3, ?2, ?3)
			ON CONFLICT(account_id) DO UPDATE SET
				nights = account_failures.nights +
					CASE WHEN excluded.last_night > account_failures.last_night THEN 1 ELSE 0 END,
				last_error = excluded.last_error,
				last_night = CASE WHEN excluded.last_night > account_failures.last_night
					THEN excluded.last_night ELSE account_failures.last_night END`, acct, night, failure); err != nil {
			return err
		}
		var err error
		st, err = scanStreak(tx.QueryRowContext(ctx, `SELECT `+streakCols+` FROM account_failures f
			JOIN accounts a ON a.id = f.account_id WHERE f.account_id = ?`, acct))
		return err
	})
	if err != nil {
		return FailureStreak{}, fmt.Errorf("recording night %s of %s: %w", night, address, err)
	}
	return st, nil
}

// MarkNotified records that the account's admins were told of the streak
// that began on firstNight. It does nothing if that streak has ended.
func (c *DB) MarkNotified(ctx context.Context, address, firstNight string) error {
	err := c.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE account_failures SET notified_at = ?
			WHERE account_id = (SELECT id FROM accounts WHERE address = ?) AND first_night = ?
			AND notified_at IS NULL`, c.nowMillis(), normalizeAddress(address), firstNight)
		return err
	})
	if err != nil {
		return fmt.Errorf("marking %s notified: %w", address, err)
	}
	return nil
}

// FailureStreak returns the account's current streak; Nights is 0 when it
// has none.
func (c *DB) FailureStreak(ctx context.Context, address string) (FailureStreak, error) {
	st, err := scanStreak(c.r.QueryRowContext(ctx, `SELECT `+streakCols+` FROM account_failures f
		JOIN accounts a ON a.id = f.account_id WHERE a.address = ?`, normalizeAddress(address)))
	if errors.Is(err, sql.ErrNoRows) {
		return FailureStreak{Address: normalizeAddress(address)}, nil
	}
	if err != nil {
		return FailureStreak{}, fmt.Errorf("failure streak of %s: %w", address, err)
	}
	return st, nil
}

const streakCols = `a.address, f.nights, f.first_night, f.first_error, f.last_night, f.last_error,
	coalesce(f.notified_at, 0)`

func scanStreak(row interface{ Scan(...any) error }) (FailureStreak, error) {
	var st FailureStreak
	var notified int64
	err := row.Scan(&st.Address, &st.Nights, &st.FirstNight, &st.FirstError, &st.LastNight, &st.LastError, &notified)
	if notified != 0 {
		st.NotifiedAt = time.UnixMilli(notified).UTC()
	}
	return st, err
}

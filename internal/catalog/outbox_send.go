package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrMailNotClaimed: the outbox row is not in the state the transition
// needs, or another sender holds it.
var ErrMailNotClaimed = errors.New("outbox mail is not claimed by this sender")

// execOne runs one UPDATE in its own transaction and reports whether it
// changed a row.
func (c *DB) execOne(ctx context.Context, what string, query string, args ...any) (bool, error) {
	var one bool
	err := c.tx(ctx, func(tx *sql.Tx) (err error) {
		one, err = affectedOne(tx.ExecContext(ctx, query, args...))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return one, nil
}

// ClaimMail records an attempt before it is made: a pending mail becomes
// sending, held by this catalog's owner until leaseUntil, and its attempt
// count grows. It reports false when the mail was not pending.
func (c *DB) ClaimMail(ctx context.Context, id int64, leaseUntil time.Time) (bool, error) {
	return c.execOne(ctx, fmt.Sprintf("claiming outbox mail %d", id), `UPDATE outbox
		SET state = 'sending', owner = ?, lease_until = ?, attempts = attempts + 1, dot_sent = FALSE
		WHERE id = ? AND state = 'pending'`, c.owner, leaseUntil.UnixMilli(), id)
}

// claimed runs a transition of a mail this sender holds.
func (c *DB) claimed(ctx context.Context, id int64, what, set string, args ...any) error {
	args = append(args, id, c.owner)
	ok, err := c.execOne(ctx, fmt.Sprintf("%s outbox mail %d", what, id),
		`UPDATE outbox SET `+set+` WHERE id = ? AND state = 'sending' AND owner = ?`, args...)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s outbox mail %d: %w", what, id, ErrMailNotClaimed)
	}
	return nil
}

// MarkMailDot records, just before the final "." of DATA is written, that
// from now on the server may accept the mail.
func (c *DB) MarkMailDot(ctx context.Context, id int64) error {
	return c.claimed(ctx, id, "marking", `dot_sent = TRUE`)
}

// MarkMailSent records that the server accepted the mail.
func (c *DB) MarkMailSent(ctx context.Context, id int64) error {
	return c.claimed(ctx, id, "completing", `state = 'sent', sent_at = ?, owner = '', last_error = ''`,
		c.nowMillis())
}

// RetryMail puts a claimed mail back to pending until next, with the error
// of the attempt. maybeSent says the attempt was cut off after the final dot
// without a reply, so the server may have accepted it.
func (c *DB) RetryMail(ctx context.Context, id int64, next time.Time, msg string, maybeSent bool) error {
	return c.claimed(ctx, id, "deferring", `state = 'pending', owner = '', next_at = ?, last_error = ?,
		maybe_duplicate = maybe_duplicate OR ?`, next.UnixMilli(), msg, maybeSent)
}

// FailMail records that the server refused a claimed mail permanently. It
// stays in the outbox, listed as undelivered, until an admin requeues it.
func (c *DB) FailMail(ctx context.Context, id int64, msg string) error {
	return c.claimed(ctx, id, "failing", `state = 'failed', owner = '', last_error = ?`, msg)
}

// DeferMail records a failed attempt on a pending mail that was never
// claimed (the server could not be reached): its attempt count grows and it
// waits until next.
func (c *DB) DeferMail(ctx context.Context, id int64, next time.Time, msg string) error {
	_, err := c.execOne(ctx, fmt.Sprintf("deferring outbox mail %d", id), `UPDATE outbox
		SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ? AND state = 'pending'`,
		next.UnixMilli(), msg, id)
	return err
}

// RequeueMail makes a failed mail pending again, due now (the admin's
// "retry"). It returns ErrNotFound when the mail is not failed.
func (c *DB) RequeueMail(ctx context.Context, id int64) error {
	ok, err := c.execOne(ctx, fmt.Sprintf("requeueing outbox mail %d", id), `UPDATE outbox
		SET state = 'pending', next_at = ? WHERE id = ? AND state = 'failed'`, c.nowMillis(), id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("requeueing outbox mail %d: %w", id, ErrNotFound)
	}
	return nil
}

// RecoverMail returns to pending, due now, every sending mail whose sender
// is gone: its lease has run out, or its owner was a process on this host
// that no longer exists. A mail whose attempt had passed the final dot is
// marked as a possible duplicate: it is sent again (a mail is never lost),
// with the same Message-ID. It returns how many mails it recovered. When
// nothing is stale it only reads.
func (c *DB) RecoverMail(ctx context.Context) (int, error) {
	now := c.nowMillis()
	type held struct {
		id, lease int64
		owner     string
	}
	var stale []held
	rows, err := c.r.QueryContext(ctx, `SELECT id, owner, lease_until FROM outbox WHERE state = 'sending'`)
	if err != nil {
		return 0, fmt.Errorf("recovering outbox: %w", err)
	}
	for rows.Next() {
		var h held
		if err := rows.Scan(&h.id, &h.owner, &h.lease); err != nil {
			return 0, errors.Join(fmt.Errorf("recovering outbox: %w", err), rows.Close())
		}
		if h.lease <= now || ownerGone(h.owner) {
			stale = append(stale, h)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("recovering outbox: %w", err)
	}
	if len(stale) == 0 {
		return 0, nil
	}
	n := 0
	err = c.tx(ctx, func(tx *sql.Tx) error {
		for _, h := range stale {
			// Compare-and-set: the holder may have finished meanwhile.
			res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', owner = '', next_at = ?,
				maybe_duplicate = maybe_duplicate OR dot_sent,
				last_error = 'interrupted: the sender stopped during an attempt'
				WHERE id = ? AND state = 'sending' AND owner = ? AND lease_until = ?`, now, h.id, h.owner, h.lease)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recovering outbox: %w", err)
	}
	return n, nil
}

// DeleteSentMail deletes the mails sent before t and returns how many.
func (c *DB) DeleteSentMail(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := c.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("deleting sent mail: %w", err)
	}
	return int(n), nil
}

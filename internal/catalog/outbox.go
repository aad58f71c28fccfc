package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The outbox (docs/workflows.md, "Outbox") holds every notification email from
// the moment the decision that caused it commits until an SMTP server has
// accepted it. A row is one message to one recipient.
//
// States: pending (waiting for next_at) → sending (an attempt is under way,
// claimed by owner until lease_until) → sent; or failed (the server refused
// it permanently; an admin may requeue it). dot_sent records that the
// attempt got as far as the final "." of DATA, after which the server may
// have accepted the message even if no reply came back.

// Outbox states.
const (
	MailPending = "pending"
	MailSending = "sending"
	MailSent    = "sent"
	MailFailed  = "failed"
)

// OutboxMail is a rendered email to put in the outbox (notify renders
// them; notify.Message is this type).
type OutboxMail struct {
	// Key names the event and the recipient ("restore/42/requested/a@b").
	// A second mail with a key already in the outbox is dropped, so callers
	// may enqueue again after a crash without sending twice.
	Key string
	// Kind is the kind of email ("restore-requested", ...), for the panel.
	Kind string
	// MessageID is the Message-ID header's value without angle brackets;
	// it is unique and never changes, so a resend is recognisable.
	MessageID string
	// From and To are the envelope sender and the one recipient.
	From, To string
	// Account is the account the email is about ("" for the operators'
	// emails): what a domain admin may see of the outbox follows it.
	Account string
	// Subject is the decoded subject, for the panel.
	Subject string
	// Body is the complete RFC 5322 message, header included.
	Body []byte
}

// OutboxEntry is an outbox row as read back.
type OutboxEntry struct {
	ID int64
	OutboxMail
	State     string
	CreatedAt time.Time
	// NextAt is the earliest time of the next attempt of a pending mail.
	NextAt    time.Time
	Attempts  int
	LastError string
	// MaybeDuplicate: an earlier attempt was cut off after the final dot
	// of DATA, so the server may have accepted it and the recipient may
	// get it twice (with the same Message-ID).
	MaybeDuplicate bool
	SentAt         time.Time // zero unless sent
}

// OutboxStats counts the outbox for the admin panel and metrics.
type OutboxStats struct {
	Pending, Sending, Failed, Sent int
	// OldestUndelivered is when the oldest mail not yet sent was enqueued;
	// zero when there is none.
	OldestUndelivered time.Time
}

// Backlog is the number of mails still to be delivered automatically.
func (s OutboxStats) Backlog() int { return s.Pending + s.Sending }

// Undelivered is the number of mails not sent, failed ones included.
func (s OutboxStats) Undelivered() int { return s.Pending + s.Sending + s.Failed }

// EnqueueMail adds mails to the outbox in one transaction of its own and
// returns how many were new (a mail whose Key is already there is skipped).
// A state change that causes mail should instead enqueue inside its own
// transaction with EnqueueMailTx, so both commit or neither does.
func (c *DB) EnqueueMail(ctx context.Context, mails ...OutboxMail) (int, error) {
	var n int
	err := c.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = c.EnqueueMailTx(ctx, tx, mails...)
		return err
	})
	return n, err
}

// EnqueueMailTx adds mails to the outbox inside tx, the transaction of the
// decision that causes them, and returns how many were new. tx must be a
// write transaction of this catalog.
func (c *DB) EnqueueMailTx(ctx context.Context, tx *sql.Tx, mails ...OutboxMail) (int, error) {
	now := c.nowMillis()
	added := 0
	for _, m := range mails {
		if err := m.check(); err != nil {
			return added, err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox(key, kind, message_id, sender, rcpt, account,
			subject, body, state, created_at, next_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
			ON CONFLICT(key) DO NOTHING`,
			m.Key, m.Kind, m.MessageID, m.From, m.To, m.Account, m.Subject, m.Body, now, now)
		if err != nil {
			return added, fmt.Errorf("enqueueing mail %s: %w", m.Key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return added, fmt.Errorf("enqueueing mail %s: %w", m.Key, err)
		}
		added += int(n)
	}
	return added, nil
}

func (m OutboxMail) check() error {
	switch {
	case m.Key == "" || m.MessageID == "" || m.To == "" || m.From == "" || len(m.Body) == 0:
		return fmt.Errorf("enqueueing mail %q: key, message id, sender, recipient and body are required", m.Key)
	case strings.ContainsAny(m.From+m.To, "\r\n<> "):
		return fmt.Errorf("enqueueing mail %q: envelope address %q / %q is not a bare address", m.Key, m.From, m.To)
	}
	return nil
}

const outboxColumns = `id, key, kind, message_id, sender, rcpt, account, subject, state, created_at, next_at,
	attempts, last_error, maybe_duplicate, sent_at`

func scanOutbox(rows interface{ Scan(...any) error }, withBody bool, e *OutboxEntry) error {
	var created, next int64
	var sent sql.NullInt64
	dest := []any{&e.ID, &e.Key, &e.Kind, &e.MessageID, &e.From, &e.To, &e.Account, &e.Subject, &e.State,
		&created, &next, &e.Attempts, &e.LastError, &e.MaybeDuplicate, &sent}
	if withBody {
		dest = append(dest, &e.Body)
	}
	if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("reading outbox row: %w", err)
	}
	e.CreatedAt, e.NextAt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
	if sent.Valid {
		e.SentAt = time.UnixMilli(sent.Int64).UTC()
	}
	return nil
}

func (c *DB) queryOutbox(ctx context.Context, withBody bool, where string, args ...any) ([]OutboxEntry, error) {
	cols := outboxColumns
	if withBody {
		cols += ", body"
	}
	rows, err := c.r.QueryContext(ctx, `SELECT `+cols+` FROM outbox WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("listing outbox: %w", err)
	}
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		if err := scanOutbox(rows, withBody, &e); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		out = append(out, e)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("listing outbox: %w", err)
	}
	return out, nil
}

// DueMail returns up to limit pending mails whose next attempt is due at
// now, oldest first, with their bodies.
func (c *DB) DueMail(ctx context.Context, now time.Time, limit int) ([]OutboxEntry, error) {
	return c.queryOutbox(ctx, true, `state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?`,
		now.UnixMilli(), limit)
}

// NextMailAt returns when the earliest pending mail is due; ok is false when
// nothing is pending.
func (c *DB) NextMailAt(ctx context.Context) (t time.Time, ok bool, err error) {
	var next sql.NullInt64
	if err := c.r.QueryRowContext(ctx, `SELECT min(next_at) FROM outbox WHERE state = 'pending'`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("reading outbox: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(next.Int64).UTC(), true, nil
}

// OutboxMail returns one outbox row, without its body, or ErrNotFound.
func (c *DB) OutboxMail(ctx context.Context, id int64) (OutboxEntry, error) {
	es, err := c.queryOutbox(ctx, false, `id = ?`, id)
	if err != nil {
		return OutboxEntry{}, err
	}
	if len(es) == 0 {
		return OutboxEntry{}, fmt.Errorf("outbox mail %d: %w", id, ErrNotFound)
	}
	return es[0], nil
}

// UndeliveredMail lists up to limit mails that are not sent (pending,
// sending or failed), failed ones first, then oldest first, without bodies.
func (c *DB) UndeliveredMail(ctx context.Context, limit int) ([]OutboxEntry, error) {
	return c.queryOutbox(ctx, false, `state != 'sent'
		ORDER BY state = 'failed' DESC, id LIMIT ?`, limit)
}

// OutboxStats counts the outbox by state.
func (c *DB) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var s OutboxStats
	var oldest sql.NullInt64
	err := c.r.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sending'),
		count(*) FILTER (WHERE state = 'failed'), count(*) FILTER (WHERE state = 'sent'),
		min(created_at) FILTER (WHERE state != 'sent') FROM outbox`).
		Scan(&s.Pending, &s.Sending, &s.Failed, &s.Sent, &oldest)
	if err != nil {
		return OutboxStats{}, fmt.Errorf("counting outbox: %w", err)
	}
	if oldest.Valid {
		s.OldestUndelivered = time.UnixMilli(oldest.Int64).UTC()
	}
	return s, nil
}

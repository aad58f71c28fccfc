package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WebSession is a web session as the catalog keeps it: by the hash of its
// secret id, never the id.
type WebSession struct {
	Account string
	Created time.Time
	Seen    time.Time
}

// CreateSession records a new session of realm ("webmail", "admin"), and
// deletes the sessions idle since before idleBefore (by the index on
// seen_at; one past its absolute lifetime but still in use is refused and
// deleted when it is next read).
func (c *DB) CreateSession(ctx context.Context, realm string, idHash [32]byte, account string,
	idleBefore time.Time) error {
	now := c.nowMillis()
	err := c.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE seen_at < ?`, idleBefore.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, realm, account, created_at, seen_at)
			VALUES (?, ?, ?, ?, ?)`, idHash[:], realm, account, now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating a session: %w", err)
	}
	return nil
}

// Session returns a session of realm, or ErrNotFound.
func (c *DB) Session(ctx context.Context, realm string, idHash [32]byte) (WebSession, error) {
	var s WebSession
	var created, seen int64
	err := c.readRow(ctx, `SELECT account, created_at, seen_at FROM sessions WHERE id_hash = ? AND realm = ?`,
		idHash[:], realm).Scan(&s.Account, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("reading a session: %w", err)
	}
	s.Created, s.Seen = time.UnixMilli(created), time.UnixMilli(seen)
	return s, nil
}

// TouchSession records that a session was used now.
func (c *DB) TouchSession(ctx context.Context, realm string, idHash [32]byte) error {
	if _, err := c.w.ExecContext(ctx, `UPDATE sessions SET seen_at = ? WHERE id_hash = ? AND realm = ?`,
		c.nowMillis(), idHash[:], realm); err != nil {
		return fmt.Errorf("touching a session: %w", err)
	}
	return nil
}

// DeleteSession ends a session.
func (c *DB) DeleteSession(ctx context.Context, realm string, idHash [32]byte) error {
	if _, err := c.w.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ? AND realm = ?`, idHash[:], realm); err != nil {
		return fmt.Errorf("deleting a session: %w", err)
	}
	return nil
}

// LoginWait returns the latest time before which any of keys may not try
// to log in (zero: none is held back).
func (c *DB) LoginWait(ctx context.Context, keys ...string) (time.Time, error) {
	if len(keys) == 0 {
		return time.Time{}, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	var ms int64
	if err := c.readRow(ctx, `SELECT coalesce(max(until_at), 0) FROM login_failures WHERE key IN (`+marks+`)`,
		args...).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("reading login failures: %w", err)
	}
	if ms == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms), nil
}

// RecordLoginFailure counts a failed login of key, in one transaction: a
// count whose last failure is before forgetBefore starts again; until
// says, from the new count, before when key may not try again.
func (c *DB) RecordLoginFailure(ctx context.Context, key string, forgetBefore time.Time,
	until func(failures int) time.Time) error {
	now := c.nowMillis()
	err := c.tx(ctx, func(tx *sql.Tx) error {
		n, last := 0, int64(0)
		err := tx.QueryRowContext(ctx, `SELECT failures, last_at FROM login_failures WHERE key = ?`, key).Scan(&n, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if last < forgetBefore.UnixMilli() {
			n = 0
		}
		n++
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE last_at < ?`, forgetBefore.UnixMilli()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO login_failures (key, failures, last_at, until_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at,
			until_at = excluded.until_at`, key, n, now, until(n).UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("recording a failed login: %w", err)
	}
	return nil
}

// ClearLoginFailures forgets key's failures (a successful login).
func (c *DB) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := c.w.ExecContext(ctx, `DELETE FROM login_failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("clearing login failures: %w", err)
	}
	return nil
}

// Secret returns the secret called name: size random bytes, made by the
// first call of any node and the same for every node afterwards.
func (c *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	_, _ = rand.Read(fresh) // crypto/rand.Read never fails (Go 1.24+)
	if _, err := c.w.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, fresh, c.nowMillis()); err != nil {
		return nil, fmt.Errorf("making the secret %s: %w", name, err)
	}
	var v []byte
	if err := c.readRow(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("reading the secret %s: %w", name, err)
	}
	return v, nil
}

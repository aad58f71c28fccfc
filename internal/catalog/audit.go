package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
)

// Audit roles: who acted.
const (
	RoleUser     = "user"
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleSystem   = "system"
)

// AuditEvent is one thing someone did: a login, a request, a decision, a
// restore run.
type AuditEvent struct {
	At      time.Time // set by the catalog when recording
	Actor   string    // the address of who acted, or "mtm"
	Role    string    // RoleUser, RoleAdmin, RoleOperator, RoleSystem
	Client  string    // the client's IP address, "" for the system
	Action  string    // "login", "login-failed", "restore-request", ...
	Account string    // the account concerned, "" if none
	Detail  string    // free text for people
}

// Audit records an event in a transaction of its own.
func (c *DB) Audit(ctx context.Context, ev AuditEvent) error {
	return c.tx(ctx, c.Auditing(ctx, ev))
}

// Auditing returns a function that records the event inside the
// transaction it is given, for the "more" argument of state transitions.
func (c *DB) Auditing(ctx context.Context, ev AuditEvent) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit(at, actor, role, client, action, account, detail)
			VALUES(?, ?, ?, ?, ?, ?, ?)`, c.nowMillis(), ev.Actor, ev.Role, ev.Client, ev.Action,
			normalizeAddress(ev.Account), ev.Detail)
		if err != nil {
			return fmt.Errorf("recording %s by %s: %w", ev.Action, ev.Actor, err)
		}
		return nil
	}
}

// AuditLog returns the newest events first, at most limit; with domains,
// only events of accounts of those domains (lower-case ASCII forms).
func (c *DB) AuditLog(ctx context.Context, domains []string, limit int) ([]AuditEvent, error) {
	q := `SELECT at, actor, role, client, action, account, detail FROM audit`
	var args []any
	if len(domains) > 0 {
		var or []string
		for _, d := range domains {
			or = append(or, `account LIKE ? ESCAPE '\'`)
			args = append(args, "%@"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(d))
		}
		q += ` WHERE ` + strings.Join(or, " OR ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := c.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return scanAll(rows, func(r *sql.Rows) (AuditEvent, error) {
		var ev AuditEvent
		var at int64
		err := r.Scan(&at, &ev.Actor, &ev.Role, &ev.Client, &ev.Action, &ev.Account, &ev.Detail)
		ev.At = time.UnixMilli(at).UTC()
		return ev, err
	})
}

// AuditBefore counts the audit events recorded before t (what a prune
// with the audit retention would delete).
func (c *DB) AuditBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	if err := c.readRow(ctx, `SELECT count(*) FROM audit WHERE at < ?`, t.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting audit events: %w", err)
	}
	return n, nil
}

// ExpireAudit deletes the audit events recorded before t ([audit]
// retention_days, the night's prune) and returns how many.
func (c *DB) ExpireAudit(ctx context.Context, t time.Time) (int64, error) {
	res, err := c.w.ExecContext(ctx, `DELETE FROM audit WHERE at < ?`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("expiring audit events: %w", err)
	}
	return res.RowsAffected()
}

// AuditSince calls fn with every audit event recorded at or after since
// and before until (zero: no end), oldest first (mtm audit export).
func (c *DB) AuditSince(ctx context.Context, since, until time.Time, fn func(AuditEvent) error) error {
	end := int64(math.MaxInt64)
	if !until.IsZero() {
		end = until.UnixMilli()
	}
	rows, err := c.r.QueryContext(ctx, `SELECT at, actor, role, client, action, account, detail FROM audit
		WHERE at >= ? AND at < ? ORDER BY at, id`, since.UnixMilli(), end)
	if err != nil {
		return fmt.Errorf("reading audit events: %w", err)
	}
	defer rows.Close() //nolint:errcheck // read-only; Err is checked
	for rows.Next() {
		var ev AuditEvent
		var at int64
		if err := rows.Scan(&at, &ev.Actor, &ev.Role, &ev.Client, &ev.Action, &ev.Account, &ev.Detail); err != nil {
			return fmt.Errorf("reading audit events: %w", err)
		}
		ev.At = time.UnixMilli(at).UTC()
		if err := fn(ev); err != nil {
			return err
		}
	}
	return rows.Err()
}

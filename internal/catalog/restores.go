package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Restore request states (docs/workflows.md, "Restore").
const (
	RestorePending  = "pending"
	RestoreRejected = "rejected"
	RestoreRunning  = "running"
	RestoreDone     = "done"
	RestoreFailed   = "failed"
)

// Sentinel errors of restore requests.
var (
	// ErrRestoreOpen: the account already has a pending or running request.
	ErrRestoreOpen = errors.New("the account already has an open restore request")
	// ErrRestoreState: the request is not in the state the transition needs
	// (someone else decided it first).
	ErrRestoreState = errors.New("the restore request is not in the required state")
)

// RestoreID identifies a restore request.
type RestoreID int64

// RestoreRequest is a restore request and, once confirmed, its run.
type RestoreRequest struct {
	ID          RestoreID
	Account     AccountID
	Address     string
	Snapshot    SnapshotID
	Day         string
	Folders     []string // empty: the whole account
	Messages    []int64  // a selection: versions of the snapshot (entry ids); empty: by folders
	Target      string   // "original" or "separate"
	Status      string
	RequestedBy string
	RequestedAt time.Time
	DecidedBy   string
	DecidedAt   time.Time
	Reason      string
	StartedAt   time.Time
	FinishedAt  time.Time
	Preview     json.RawMessage // set by the requester
	Result      json.RawMessage // set by the run
	Error       string
}

const restoreCols = `r.id, r.account_id, a.address, r.snapshot_id, r.day, r.folders, r.target, r.status,
	r.requested_by, r.requested_at, r.decided_by, coalesce(r.decided_at, 0), r.reason, coalesce(r.started_at, 0),
	coalesce(r.finished_at, 0), r.preview, r.result, r.error, r.messages`

func scanRestore(row interface{ Scan(...any) error }) (RestoreRequest, error) {
	var r RestoreRequest
	var folders, preview, result, messages string
	var requested, decided, started, finished int64
	err := row.Scan(&r.ID, &r.Account, &r.Address, &r.Snapshot, &r.Day, &folders, &r.Target, &r.Status,
		&r.RequestedBy, &requested, &r.DecidedBy, &decided, &r.Reason, &started, &finished, &preview, &result, &r.Error,
		&messages)
	if err != nil {
		return r, err
	}
	if messages != "" {
		if err := json.Unmarshal([]byte(messages), &r.Messages); err != nil {
			return r, fmt.Errorf("restore %d messages: %w", r.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(folders), &r.Folders); err != nil {
		return r, fmt.Errorf("restore %d folders: %w", r.ID, err)
	}
	r.RequestedAt = millis(requested)
	r.DecidedAt, r.StartedAt, r.FinishedAt = millis(decided), millis(started), millis(finished)
	if preview != "" {
		r.Preview = json.RawMessage(preview)
	}
	if result != "" {
		r.Result = json.RawMessage(result)
	}
	return r, nil
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// RequestRestore records a pending request of a committed snapshot of its
// account. It fails with ErrRestoreOpen if the account has an open one.
// more, if not nil, runs in the same transaction with the new id (to queue
// the admins' emails).
func (c *DB) RequestRestore(ctx context.Context, r RestoreRequest, more func(*sql.Tx, RestoreID) error) (RestoreID, error) {
	if r.Folders == nil {
		r.Folders = []string{}
	}
	folders, err := json.Marshal(r.Folders)
	if err != nil {
		return 0, err
	}
	messages := ""
	if len(r.Messages) > 0 {
		b, err := json.Marshal(r.Messages)
		if err != nil {
			return 0, err
		}
		messages = string(b)
	}
	var id RestoreID
	err = c.tx(ctx, func(tx *sql.Tx) error {
		var day string
		err := tx.QueryRowContext(ctx, `SELECT day FROM snapshots WHERE id = ? AND account_id = ? AND state = 'committed'`,
			r.Snapshot, r.Account).Scan(&day)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("snapshot %d of the account: %w", r.Snapshot, ErrNotFound)
		}
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO restores(account_id, snapshot_id, day, folders, target, status,
			requested_by, requested_at, preview, messages) VALUES(?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) RETURNING id`,
			r.Account, r.Snapshot, day, string(folders), r.Target, r.RequestedBy, c.nowMillis(), string(r.Preview),
			messages).Scan(&id)
		if isUniqueViolation(err) {
			return ErrRestoreOpen
		}
		if err != nil || more == nil {
			return err
		}
		return more(tx, id)
	})
	if err != nil {
		return 0, fmt.Errorf("requesting a restore: %w", err)
	}
	return id, nil
}

// Restore returns one request.
func (c *DB) Restore(ctx context.Context, id RestoreID) (RestoreRequest, error) {
	r, err := scanRestore(c.r.QueryRowContext(ctx, `SELECT `+restoreCols+` FROM restores r
		JOIN accounts a ON a.id = r.account_id WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("restore %d: %w", id, ErrNotFound)
	}
	return r, err
}

// Restores lists requests, newest first: of one account if acct is not 0,
// of one status if status is not "".
func (c *DB) Restores(ctx context.Context, acct AccountID, status string) ([]RestoreRequest, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT `+restoreCols+` FROM restores r JOIN accounts a ON a.id = r.account_id
		WHERE (?1 = 0 OR r.account_id = ?1) AND (?2 = '' OR r.status = ?2) ORDER BY r.id DESC`, acct, status)
	if err != nil {
		return nil, fmt.Errorf("listing restores: %w", err)
	}
	return scanAll(rows, func(r *sql.Rows) (RestoreRequest, error) { return scanRestore(r) })
}

// transition runs a compare-and-set update of one request in a transaction
// and, if it applied, more in the same transaction (for instance queueing
// an email). It fails with ErrRestoreState if no row matched.
func (c *DB) transition(ctx context.Context, id RestoreID, update string, args []any, more func(*sql.Tx) error) error {
	return c.tx(ctx, func(tx *sql.Tx) error {
		one, err := affectedOne(tx.ExecContext(ctx, update, args...))
		if err != nil {
			return err
		}
		if !one {
			return fmt.Errorf("restore %d: %w", id, ErrRestoreState)
		}
		if more != nil {
			return more(tx)
		}
		return nil
	})
}

// ConfirmRestore moves a pending request to running, owned by this process.
// more, if not nil, runs in the same transaction.
func (c *DB) ConfirmRestore(ctx context.Context, id RestoreID, by string, more func(*sql.Tx) error) error {
	now := c.nowMillis()
	return c.transition(ctx, id, `UPDATE restores SET status = 'running', decided_by = ?, decided_at = ?, owner = ?,
		heartbeat_at = ?, started_at = ? WHERE id = ? AND status = 'pending'`,
		[]any{by, now, c.owner, now, now, id}, more)
}

// RejectRestore moves a pending request to rejected, with a reason.
func (c *DB) RejectRestore(ctx context.Context, id RestoreID, by, reason string, more func(*sql.Tx) error) error {
	now := c.nowMillis()
	return c.transition(ctx, id, `UPDATE restores SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ?,
		finished_at = ? WHERE id = ? AND status = 'pending'`, []any{by, now, reason, now, id}, more)
}

// FinishRestore moves a running request this process owns to done, or to
// failed when errText is not empty, with its result.
func (c *DB) FinishRestore(ctx context.Context, id RestoreID, result json.RawMessage, errText string,
	more func(*sql.Tx) error) error {
	status := RestoreDone
	if errText != "" {
		status = RestoreFailed
	}
	return c.transition(ctx, id, `UPDATE restores SET status = ?, result = ?, error = ?, finished_at = ?
		WHERE id = ? AND status = 'running' AND owner = ?`,
		[]any{status, string(result), errText, c.nowMillis(), id, c.owner}, more)
}

// HeartbeatRestore tells other processes the run is alive, and records its
// progress; it fails with ErrRestoreState if the run is no longer ours.
func (c *DB) HeartbeatRestore(ctx context.Context, id RestoreID, progress json.RawMessage) error {
	return c.transition(ctx, id, `UPDATE restores SET heartbeat_at = ?, result = ?
		WHERE id = ? AND status = 'running' AND owner = ?`, []any{c.nowMillis(), string(progress), id, c.owner}, nil)
}

// TakeRestore makes this process the owner of a running restore and
// returns it: the job queue runs each confirmed restore as one job at a
// time (docs/design.md, "Jobs and nodes"), so the job that runs it takes
// it from the node that confirmed it, or from a node that died running
// it. A restore no longer running fails with ErrRestoreState.
func (c *DB) TakeRestore(ctx context.Context, id RestoreID) (RestoreRequest, error) {
	if err := c.transition(ctx, id, `UPDATE restores SET owner = ?, heartbeat_at = ? WHERE id = ? AND status = 'running'`,
		[]any{c.owner, c.nowMillis(), id}, nil); err != nil {
		return RestoreRequest{}, err
	}
	return c.Restore(ctx, id)
}

// ClaimStaleRestores takes over the running restores whose worker is gone
// and returns them, to be resumed.
func (c *DB) ClaimStaleRestores(ctx context.Context) ([]RestoreRequest, error) {
	var ids []RestoreID
	err := c.tx(ctx, func(tx *sql.Tx) error {
		runs, err := holders(ctx, tx, `SELECT id, account_id, owner, coalesce(heartbeat_at, 0) FROM restores
			WHERE status = 'running'`)
		if err != nil {
			return err
		}
		now := c.clk.Now()
		for _, r := range runs {
			if r.owner == c.owner || c.deadReason(r.owner, r.heartbeat, now) == "" {
				continue // ours, or its worker is alive
			}
			if _, err := tx.ExecContext(ctx, `UPDATE restores SET owner = ?, heartbeat_at = ? WHERE id = ?`,
				c.owner, now.UnixMilli(), r.id); err != nil {
				return err
			}
			ids = append(ids, RestoreID(r.id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming interrupted restores: %w", err)
	}
	out := make([]RestoreRequest, 0, len(ids))
	for _, id := range ids {
		r, err := c.Restore(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Node is one `mtm serve` process of a cluster, as the nodes table has it
// (docs/design.md, "Jobs and nodes").
type Node struct {
	ID        string // host:pid:random: its owner name, and its job client's id
	Roles     []string
	Started   time.Time
	Heartbeat time.Time
	Stopped   time.Time // zero while it runs, or if it died
	// Dead says why the node is taken for dead (its process is gone, or it
	// has been silent too long); "" while it is alive or stopped cleanly.
	Dead string
}

// RegisterNode records this process as a node with its roles; it replaces
// an earlier row of the same id.
func (c *DB) RegisterNode(ctx context.Context, roles []string) error {
	now := c.nowMillis()
	_, err := c.w.ExecContext(ctx, `INSERT INTO nodes (id, roles, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET roles = excluded.roles, started_at = excluded.started_at,
		heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`, c.owner, strings.Join(roles, " "), now, now)
	if err != nil {
		return fmt.Errorf("registering node %s: %w", c.owner, err)
	}
	return nil
}

// HeartbeatNode tells the other nodes that this one is alive.
func (c *DB) HeartbeatNode(ctx context.Context) error {
	if _, err := c.w.ExecContext(ctx, `UPDATE nodes SET heartbeat_at = ? WHERE id = ?`, c.nowMillis(), c.owner); err != nil {
		return fmt.Errorf("node heartbeat: %w", err)
	}
	return nil
}

// StopNode records that this node stopped cleanly.
func (c *DB) StopNode(ctx context.Context) error {
	if _, err := c.w.ExecContext(ctx, `UPDATE nodes SET stopped_at = ? WHERE id = ?`, c.nowMillis(), c.owner); err != nil {
		return fmt.Errorf("stopping node: %w", err)
	}
	return nil
}

// ForgetNode deletes a node's row: one that stopped or died, once its jobs
// were handed on.
func (c *DB) ForgetNode(ctx context.Context, id string) error {
	if _, err := c.w.ExecContext(ctx, `DELETE FROM nodes WHERE id = ? AND id <> ?`, id, c.owner); err != nil {
		return fmt.Errorf("forgetting node %s: %w", id, err)
	}
	return nil
}

// Nodes lists the nodes, oldest first, each with Dead said by the same
// rule as running snapshots and restores: its process is gone from this
// host, or it has been silent longer than StaleAfter.
func (c *DB) Nodes(ctx context.Context) ([]Node, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT id, roles, started_at, heartbeat_at, coalesce(stopped_at, 0)
		FROM nodes ORDER BY started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	now := c.clk.Now()
	return scanAll(rows, func(r *sql.Rows) (Node, error) {
		var n Node
		var roles string
		var started, beat, stopped int64
		if err := r.Scan(&n.ID, &roles, &started, &beat, &stopped); err != nil {
			return n, err
		}
		n.Roles = strings.Fields(roles)
		n.Started, n.Heartbeat = time.UnixMilli(started), time.UnixMilli(beat)
		if stopped != 0 {
			n.Stopped = time.UnixMilli(stopped)
		} else {
			n.Dead = c.deadReason(n.ID, beat, now)
		}
		return n, nil
	})
}

// Owner is the name of this process in the catalog's running rows, and
// its node id.
func (c *DB) Owner() string { return c.owner }

// Pool is pgx's own pool over a PostgreSQL catalog (the job queue works
// on it); nil for the embedded catalog.
func (c *DB) Pool() *pgxpool.Pool { return c.pool }

package jobs

import (
	"context"
	"fmt"
	"time"

	"mtm/internal/clock"
)

// forgetStoppedAfter is how long a node that stopped cleanly stays listed.
const forgetStoppedAfter = 24 * time.Hour

// beat refreshes the node's heartbeat every BeatEvery until ctx ends, and
// each time hands on the jobs of dead nodes.
func (q *Queue) beat(ctx context.Context) {
	for {
		if err := q.o.Nodes.HeartbeatNode(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("node heartbeat", "err", err)
		}
		if q.o.Slots != nil {
			if err := q.o.Slots.renew(ctx); err != nil && ctx.Err() == nil {
				q.log.Warn("renewing imap connection slots", "err", err)
			}
		}
		if err := q.reap(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("handing on the jobs of dead nodes", "err", err)
		}
		if clock.Sleep(ctx, q.o.Clock, q.o.BeatEvery) != nil {
			return
		}
	}
}

// reap makes the running jobs of every dead node available to the others
// at once (River's own rescue waits longer than the longest job may run),
// then forgets the node. A job handed on resumes where its run stopped:
// a snapshot from its staging, a restore by taking the request over.
// Every node reaps; the update is guarded by the job's state and its last
// worker, so reaping twice does nothing the second time.
func (q *Queue) reap(ctx context.Context) error {
	nodes, err := q.o.Nodes.Nodes(ctx)
	if err != nil {
		return err
	}
	now := q.o.Clock.Now()
	for _, n := range nodes {
		if n.Dead == "" {
			if !n.Stopped.IsZero() && now.Sub(n.Stopped) > forgetStoppedAfter {
				if err := q.o.Nodes.ForgetNode(ctx, n.ID); err != nil {
					return err
				}
			}
			continue
		}
		tag, err := q.o.Pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now(),
			errors = array_append(errors, jsonb_build_object('at', now(), 'attempt', attempt,
				'error', 'node ' || $1::text || ' died: ' || $2::text, 'trace', ''))
			WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1`, n.ID, n.Dead)
		if err != nil {
			return fmt.Errorf("handing on the jobs of node %s: %w", n.ID, err)
		}
		if tag.RowsAffected() > 0 {
			q.log.Warn("a node died; its running jobs are handed on", "node", n.ID, "why", n.Dead,
				"jobs", tag.RowsAffected())
		}
		if q.o.Slots != nil {
			if err := q.o.Slots.Catalog.FreeIMAPSlotsOf(ctx, n.ID); err != nil {
				return err
			}
		}
		if err := q.o.Nodes.ForgetNode(ctx, n.ID); err != nil {
			return err
		}
	}
	return nil
}

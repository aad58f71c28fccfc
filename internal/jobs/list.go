package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"mtm/internal/catalog"
	"mtm/internal/metrics"
)

// NightCounts is where a night's snapshot jobs are.
type NightCounts struct {
	Jobs       int       // snapshot jobs of the night
	Open       int       // not finished: waiting, running or to be retried
	Done       int       // completed
	Failed     int       // failed for good (discarded or cancelled)
	MaxAttempt int       // the most attempts any of them took
	Retried    int       // those that took more than one attempt
	First      time.Time // when the first was inserted
	// Elapsed is the time since the first was inserted, by the database's
	// clock.
	Elapsed time.Duration
}

// NightCounts counts the snapshot jobs of a night (by the index of
// migration 5).
func (q *Queue) NightCounts(ctx context.Context, night string) (NightCounts, error) {
	var c NightCounts
	var first *time.Time
	var elapsed float64
	err := q.o.Pool.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE state NOT IN ('completed', 'discarded', 'cancelled')),
		count(*) FILTER (WHERE state = 'completed'),
		count(*) FILTER (WHERE state IN ('discarded', 'cancelled')),
		coalesce(max(attempt), 0), count(*) FILTER (WHERE attempt > 1), min(created_at),
		coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM river_job WHERE kind = 'snapshot' AND args->>'night' = $1`, night).
		Scan(&c.Jobs, &c.Open, &c.Done, &c.Failed, &c.MaxAttempt, &c.Retried, &first, &elapsed)
	c.Elapsed = time.Duration(elapsed * float64(time.Second))
	if err != nil {
		return c, fmt.Errorf("counting the snapshot jobs of night %s: %w", night, err)
	}
	if first != nil {
		c.First = *first
	}
	return c, nil
}

// JobCounts counts the jobs the queue keeps by kind and state
// (metrics.Jobs).
func (q *Queue) JobCounts(ctx context.Context) ([]metrics.JobCount, error) {
	counts, err := q.Counts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]metrics.JobCount, len(counts))
	for i, c := range counts {
		out[i] = metrics.JobCount{Kind: c.Kind, State: c.State, Jobs: c.Jobs}
	}
	return out, nil
}

// NightProgress says where the current night stands across the cluster
// (metrics.Jobs): its snapshot jobs, the end projected from the rate so
// far against snapshot_at + night_window, the nodes, and what each runs.
func (q *Queue) NightProgress(ctx context.Context) (metrics.NightProgress, error) {
	now := q.o.Clock.Now()
	f := q.o.Schedule.Prev(now)
	p := metrics.NightProgress{Night: q.o.Schedule.Night(f), WindowEnd: f.Add(q.o.Cluster.NightWindow)}
	c, err := q.NightCounts(ctx, p.Night)
	if err != nil {
		return p, err
	}
	p.Jobs, p.Open, p.RetriedSnapshot = c.Jobs, c.Open, c.Retried
	if finished := c.Jobs - c.Open; finished > 0 && c.Elapsed > 0 {
		p.ProjectedEnd = now.Add(time.Duration(float64(c.Elapsed) / float64(finished) * float64(c.Open)))
	}
	nodes, err := q.o.Nodes.Nodes(ctx)
	if err != nil {
		return p, err
	}
	for _, n := range nodes {
		switch {
		case n.Dead != "":
			p.NodesDead++
		case n.Stopped.IsZero():
			p.NodesAlive++
		}
	}
	rows, err := q.o.Pool.Query(ctx, `SELECT attempted_by[array_length(attempted_by, 1)], count(*) FROM river_job
		WHERE state = 'running' GROUP BY 1`)
	if err != nil {
		return p, fmt.Errorf("counting running jobs: %w", err)
	}
	defer rows.Close()
	p.RunningPerNode = map[string]int{}
	for rows.Next() {
		var node string
		var n int
		if err := rows.Scan(&node, &n); err != nil {
			return p, err
		}
		p.RunningPerNode[node] = n
	}
	return p, rows.Err()
}

// Job is a job as `mtm jobs` lists it.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	State       string          `json:"state"`
	Queue       string          `json:"queue"`
	Args        json.RawMessage `json:"args"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Node        string          `json:"node,omitempty"` // the last node that worked it
	Created     time.Time       `json:"created"`
	Scheduled   time.Time       `json:"scheduled"`
	Finalized   time.Time       `json:"finalized,omitzero"`
	Error       string          `json:"error,omitempty"` // the last attempt's error
}

// List lists up to limit jobs, newest first, in the given state ("" for
// every state: available, cancelled, completed, discarded, pending,
// retryable, running, scheduled; "failed" for discarded and cancelled).
func (q *Queue) List(ctx context.Context, state string, limit int) ([]Job, error) {
	p := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	switch state {
	case "":
	case "failed":
		p = p.States(rivertype.JobStateDiscarded, rivertype.JobStateCancelled)
	default:
		st := rivertype.JobState(state)
		if !slices.Contains(rivertype.JobStates(), st) {
			return nil, fmt.Errorf("%q is not a job state (%v, or failed)", state, rivertype.JobStates())
		}
		p = p.States(st)
	}
	res, err := q.client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, r := range res.Jobs {
		out = append(out, jobOf(r))
	}
	return out, nil
}

func jobOf(r *rivertype.JobRow) Job {
	j := Job{ID: r.ID, Kind: r.Kind, State: string(r.State), Queue: r.Queue, Args: r.EncodedArgs,
		Attempt: r.Attempt, MaxAttempts: r.MaxAttempts, Created: r.CreatedAt, Scheduled: r.ScheduledAt}
	if n := len(r.AttemptedBy); n > 0 {
		j.Node = r.AttemptedBy[n-1]
	}
	if r.FinalizedAt != nil {
		j.Finalized = *r.FinalizedAt
	}
	if n := len(r.Errors); n > 0 {
		j.Error = r.Errors[n-1].Error
	}
	return j
}

// Retry makes a finished or waiting job available to run again now; a
// running job is left as it is. It returns the job as it is then.
func (q *Queue) Retry(ctx context.Context, id int64) (Job, error) {
	r, err := q.client.JobRetry(ctx, id)
	if err != nil {
		return Job{}, fmt.Errorf("retrying job %d: %w", id, err)
	}
	return jobOf(r), nil
}

// Count is how many jobs of a kind are in a state.
type Count struct {
	Kind  string
	State string
	Jobs  int
}

// Counts counts the jobs River keeps, by kind and state.
func (q *Queue) Counts(ctx context.Context) ([]Count, error) {
	rows, err := q.o.Pool.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Kind, &c.State, &c.Jobs); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Nodes lists the cluster's nodes (the catalog's nodes table).
func (q *Queue) Nodes(ctx context.Context) ([]catalog.Node, error) { return q.o.Nodes.Nodes(ctx) }

package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// NightCounts is where a night's snapshot jobs are.
type NightCounts struct {
	Jobs       int       // snapshot jobs of the night
	Open       int       // not finished: waiting, running or to be retried
	Done       int       // completed
	Failed     int       // failed for good (discarded or cancelled)
	MaxAttempt int       // the most attempts any of them took
	First      time.Time // when the first was inserted
}

// NightCounts counts the snapshot jobs of a night (by the index of
// migration 5).
func (q *Queue) NightCounts(ctx context.Context, night string) (NightCounts, error) {
	var c NightCounts
	var first *time.Time
	err := q.o.Pool.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE state NOT IN ('completed', 'discarded', 'cancelled')),
		count(*) FILTER (WHERE state = 'completed'),
		count(*) FILTER (WHERE state IN ('discarded', 'cancelled')),
		coalesce(max(attempt), 0), min(created_at)
		FROM river_job WHERE kind = 'snapshot' AND args->>'night' = $1`, night).
		Scan(&c.Jobs, &c.Open, &c.Done, &c.Failed, &c.MaxAttempt, &first)
	if err != nil {
		return c, fmt.Errorf("counting the snapshot jobs of night %s: %w", night, err)
	}
	if first != nil {
		c.First = *first
	}
	return c, nil
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
		valid := false
		for _, s := range rivertype.JobStates() {
			valid = valid || s == st
		}
		if !valid {
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

package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"mtm/internal/catalog"
	"mtm/internal/restoreflow"
	"mtm/internal/scheduler"
)

// workers registers a worker per kind.
func (q *Queue) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &snapshotWorker{q: q})
	river.AddWorker(w, &nightWorker{q: q})
	river.AddWorker(w, &pruneWorker{q: q})
	river.AddWorker(w, &restoreWorker{q: q})
	river.AddWorker(w, &outboxWorker{q: q})
	river.AddWorker(w, &alertsWorker{q: q})
	return w
}

// handBack is what a job whose context ended returns: while the node
// stops, the job is available again at once without using an attempt;
// otherwise (its timeout) err counts as a failed attempt.
func (q *Queue) handBack(ctx context.Context, err error) error {
	if ctx.Err() != nil && q.Stopping() {
		return river.JobSnooze(0)
	}
	return err
}

// snapshotWorker snapshots one account for one night (snapshot.Engine's
// AccountSince: an account already snapshotted since the fire time is
// done), and records the night's outcome at the end of the last attempt.
type snapshotWorker struct {
	river.WorkerDefaults[SnapshotArgs]
	q *Queue
}

func (w *snapshotWorker) Timeout(*river.Job[SnapshotArgs]) time.Duration { return snapshotTimeout }

// NextRetry waits as the in-process scheduler does between a night's
// attempts: exponential, with jitter.
func (w *snapshotWorker) NextRetry(j *river.Job[SnapshotArgs]) time.Time {
	return w.q.o.Clock.Now().Add(w.q.o.Retry.Delay(j.Attempt, scheduler.GlobalRand{}))
}

func (w *snapshotWorker) Work(ctx context.Context, j *river.Job[SnapshotArgs]) error {
	a := j.Args
	r := w.q.o.Engine.AccountSince(ctx, a.Account, a.Fire)
	w.q.o.Observer.Snapshot(r, j.Attempt)
	if r.Err == nil {
		w.q.o.Outcomes.Record(ctx, a.Night, a.Account, nil)
		return nil
	}
	if ctx.Err() != nil && w.q.Stopping() {
		return river.JobSnooze(0)
	}
	w.q.log.Warn("snapshot failed", "account", a.Account, "night", a.Night, "attempt", j.Attempt, "err", r.Err)
	if j.Attempt >= j.MaxAttempts {
		w.q.o.Outcomes.Record(context.WithoutCancel(ctx), a.Night, a.Account, r.Err)
	}
	return r.Err
}

// nightWorker inserts a night's snapshot jobs, one per listed account (a
// second insertion is a no-op), and the prune that follows them.
type nightWorker struct {
	river.WorkerDefaults[NightArgs]
	q *Queue
}

func (w *nightWorker) Timeout(*river.Job[NightArgs]) time.Duration { return nightTimeout }

// insertBatch is how many jobs one insert carries.
const insertBatch = 1000

func (w *nightWorker) Work(ctx context.Context, j *river.Job[NightArgs]) error {
	n := j.Args
	listed, err := w.q.o.Accounts.List(ctx)
	if err != nil {
		return fmt.Errorf("night %s: listing accounts: %w", n.Night, err)
	}
	inserted := 0
	for start := 0; start < len(listed); start += insertBatch {
		batch := listed[start:min(start+insertBatch, len(listed))]
		params := make([]river.InsertManyParams, len(batch))
		for i, a := range batch {
			params[i] = river.InsertManyParams{Args: SnapshotArgs{Account: a, Night: n.Night, Fire: n.Fire}}
		}
		res, err := w.q.client.InsertMany(ctx, params)
		if err != nil {
			return fmt.Errorf("night %s: inserting snapshot jobs: %w", n.Night, err)
		}
		for _, r := range res {
			if !r.UniqueSkippedAsDuplicate {
				inserted++
			}
		}
	}
	if _, err := w.q.client.Insert(ctx, PruneArgs{Night: n.Night}, nil); err != nil {
		return fmt.Errorf("night %s: inserting the prune: %w", n.Night, err)
	}
	w.q.log.Info("night scheduled", "night", n.Night, "fire", n.Fire, "accounts", len(listed), "new jobs", inserted)
	return nil
}

// pruneWorker waits until the night's snapshot jobs are all finished,
// reports the night, and prunes (scheduler.Prune: the blob-deletion lock
// keeps it alone in the cluster).
type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	q *Queue
}

func (w *pruneWorker) Timeout(*river.Job[PruneArgs]) time.Duration { return pruneTimeout }

func (w *pruneWorker) Work(ctx context.Context, j *river.Job[PruneArgs]) error {
	night := j.Args.Night
	c, err := w.q.NightCounts(ctx, night)
	if err != nil {
		return err
	}
	if c.Open > 0 {
		return river.JobSnooze(w.q.o.NightPoll)
	}
	listed, err := w.q.o.Accounts.List(ctx)
	if err != nil {
		return fmt.Errorf("prune after night %s: listing accounts: %w", night, err)
	}
	rep := scheduler.NightReport{Night: night, Started: c.First, Accounts: c.Jobs, Failed: c.Failed, Attempts: c.MaxAttempt,
		Pruned: true}
	rep.PruneErr = w.q.o.Pruner.Prune(ctx, listed)
	rep.Finished = w.q.o.Clock.Now()
	w.q.o.Observer.Night(rep)
	w.q.log.Info("night done", "night", night, "accounts", c.Jobs, "failed", c.Failed, "prune_err", rep.PruneErr)
	return w.q.handBack(ctx, rep.PruneErr)
}

// restoreWorker runs a confirmed restore (restoreflow.Flow.RunJob).
type restoreWorker struct {
	river.WorkerDefaults[RestoreArgs]
	q *Queue
}

func (w *restoreWorker) Timeout(*river.Job[RestoreArgs]) time.Duration { return restoreTimeout }

func (w *restoreWorker) Work(ctx context.Context, j *river.Job[RestoreArgs]) error {
	err := w.q.o.Restores.RunJob(ctx, catalog.RestoreID(j.Args.Restore), j.Attempt > 1)
	if errors.Is(err, restoreflow.ErrStopped) {
		return w.q.handBack(ctx, err)
	}
	return err
}

// outboxWorker makes one round of the outbox.
type outboxWorker struct {
	river.WorkerDefaults[OutboxArgs]
	q *Queue
}

func (w *outboxWorker) Timeout(*river.Job[OutboxArgs]) time.Duration { return outboxTimeout }

func (w *outboxWorker) Work(ctx context.Context, _ *river.Job[OutboxArgs]) error {
	_, err := w.q.o.Outbox.RunOnce(ctx)
	return err
}

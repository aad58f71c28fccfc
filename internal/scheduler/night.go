package scheduler

import (
	"context"
	"fmt"
	"time"
)

// NightReport is what one night did.
type NightReport struct {
	Night    string    // YYYY-MM-DD of the fire time, in timezone
	Fire     time.Time // the scheduled time
	Started  time.Time
	Finished time.Time
	Accounts int // listed in the accounts file
	Done     int // already snapshotted since the fire time, so not run
	Failed   int // still failing after the night's last attempt
	Attempts int // engine runs: 1 + rounds of retries
	Pruned   bool
	PruneErr error
	Err      error // the night could not run (accounts file, catalog)
}

// night runs the night of fire time f: the accounts without a committed
// snapshot since f are snapshotted and retried until the next night is
// due, every account's outcome is recorded, then prune runs.
func (s *Scheduler) night(ctx context.Context, f time.Time) NightReport {
	rep := NightReport{Night: s.sched.Night(f), Fire: f, Started: s.clk.Now()}
	todo, done, err := s.due(ctx, f)
	rep.Accounts, rep.Done = len(todo)+len(done), len(done)
	if err != nil {
		rep.Err = err
		rep.Finished = s.clk.Now()
		s.log.Error("night cannot run", "night", rep.Night, "err", err)
		s.obs.Night(rep)
		return rep
	}
	if len(todo) == 0 {
		s.log.Debug("nothing to do for the night", "night", rep.Night, "accounts", len(done))
		return rep
	}
	s.log.Info("night starts", "night", rep.Night, "fire", f, "accounts", len(todo), "already done", len(done))
	failed := s.snapshotAll(ctx, todo, s.sched.Next(f), &rep)
	if ctx.Err() != nil {
		s.log.Warn("night interrupted; it will be caught up at the next start", "night", rep.Night)
		return rep
	}
	rep.Failed = len(failed)
	listed := append(append([]string(nil), todo...), done...)
	s.record(ctx, rep.Night, listed, failed)
	if s.pruner != nil {
		rep.Pruned = true
		rep.PruneErr = s.pruner.Prune(ctx, listed)
		if rep.PruneErr != nil {
			s.log.Error("prune after the night failed", "night", rep.Night, "err", rep.PruneErr)
		}
	}
	rep.Finished = s.clk.Now()
	s.log.Info("night done", "night", rep.Night, "accounts", len(todo), "failed", rep.Failed,
		"attempts", rep.Attempts, "took", rep.Finished.Sub(rep.Started))
	s.obs.Night(rep)
	return rep
}

// due splits the listed accounts into those without a committed snapshot
// taken at or after f, and those that have one.
func (s *Scheduler) due(ctx context.Context, f time.Time) (todo, done []string, err error) {
	listed, err := s.accounts.List(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing accounts: %w", err)
	}
	status, err := s.cat.BackupStatus(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading last snapshots: %w", err)
	}
	last := make(map[string]time.Time, len(status))
	for _, st := range status {
		if st.LastSuccess.ID != 0 {
			last[st.Address] = st.LastSuccess.TakenAt
		}
	}
	for _, a := range listed {
		if t, ok := last[a]; ok && !t.Before(f) {
			done = append(done, a)
		} else {
			todo = append(todo, a)
		}
	}
	return todo, done, nil
}

// snapshotAll snapshots the accounts, then retries those that failed with
// backoff while a retry can start before deadline. It returns the last
// error of each account that never succeeded.
func (s *Scheduler) snapshotAll(ctx context.Context, accounts []string, deadline time.Time,
	rep *NightReport) map[string]error {
	failed := map[string]error{}
	for attempt := 1; ; attempt++ {
		rep.Attempts = attempt
		var again []string
		for _, r := range s.engine.Run(ctx, accounts) {
			s.obs.Snapshot(r, attempt)
			if r.Err != nil {
				failed[r.Address] = r.Err
				again = append(again, r.Address)
				s.log.Warn("snapshot failed", "account", r.Address, "attempt", attempt, "err", r.Err)
			} else {
				delete(failed, r.Address)
			}
		}
		if len(again) == 0 || attempt >= s.retry.Attempts || ctx.Err() != nil {
			return failed
		}
		wake := s.clk.Now().Add(s.retry.Delay(attempt, s.rand))
		if !wake.Before(deadline) {
			s.log.Warn("no more retries tonight: the next night is due", "accounts", again, "next", deadline)
			return failed
		}
		s.log.Info("retrying failed accounts", "accounts", again, "attempt", attempt+1, "at", wake)
		if err := s.clk.SleepUntil(ctx, wake); err != nil {
			return failed
		}
		accounts = again
	}
}

// record stores every account's outcome of the night (Outcomes.Record).
func (s *Scheduler) record(ctx context.Context, night string, accounts []string, failed map[string]error) {
	for _, a := range accounts {
		s.outcomes.Record(ctx, night, a, failed[a])
	}
}

package metrics

import (
	"context"
	"errors"

	"mtm/internal/scheduler"
	"mtm/internal/snapshot"
)

// Metrics is the scheduler's Observer.
var _ scheduler.Observer = (*Metrics)(nil)

// Snapshot records one account's snapshot attempt (attempt 1 is the
// night's first; `mtm snapshot` passes 1): its duration by outcome, a
// failure, a retry, and for a committed snapshot what it downloaded and
// stored. A run abandoned because the process is stopping
// (context.Canceled) is not a failure and is not recorded: it resumes at
// the next start.
func (m *Metrics) Snapshot(r snapshot.Result, attempt int) {
	if errors.Is(r.Err, context.Canceled) {
		return
	}
	if attempt > 1 {
		m.snapRetries.Inc()
	}
	if r.Err != nil {
		m.snapDuration.WithLabelValues(OutcomeFailed).Observe(r.Duration.Seconds())
		m.snapFailures.Inc()
		return
	}
	m.snapDuration.WithLabelValues(OutcomeOK).Observe(r.Duration.Seconds())
	s := r.Snapshot
	m.fetchedMessages.Add(float64(max(s.FetchedMessages, 0)))
	m.fetchedBytes.Add(float64(max(s.FetchedBytes, 0)))
	m.newBlobs.Add(float64(max(s.NewBlobs, 0)))
	m.newBlobBytes.Add(float64(max(s.NewBlobBytes, 0)))
}

// Night records the end of a night of the scheduler.
func (m *Metrics) Night(r scheduler.NightReport) {
	if r.Err != nil {
		m.nightErrors.WithLabelValues("night").Inc()
		return
	}
	if r.PruneErr != nil {
		m.nightErrors.WithLabelValues("prune").Inc()
	}
	if !r.Finished.IsZero() {
		m.nightFinished.Set(float64(r.Finished.UnixMilli()) / 1000)
		m.nightDuration.Set(max(r.Finished.Sub(r.Started).Seconds(), 0))
	}
	m.nightFailed.Set(float64(r.Failed))
}

// RestoreFinished records the end of a restore run: done when err is nil,
// failed otherwise. A run stopped because the process is stopping
// (context.Canceled) is not an outcome (it resumes) and is not counted.
func (m *Metrics) RestoreFinished(err error) {
	switch {
	case errors.Is(err, context.Canceled):
	case err != nil:
		m.restores.WithLabelValues(RestoreFailed).Inc()
	default:
		m.restores.WithLabelValues(RestoreDone).Inc()
	}
}

// RestoreRejected records a restore request that an admin rejected.
func (m *Metrics) RestoreRejected() { m.restores.WithLabelValues(RestoreRejected).Inc() }

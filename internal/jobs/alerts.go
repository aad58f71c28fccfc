package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"mtm/internal/catalog"
	"mtm/internal/notify"
)

// KindAlerts is the leader's minutely look at the night for the operators.
const KindAlerts = "alerts"

// AlertsArgs is one look at the night: is it projected to miss its
// window, and which jobs failed for good.
type AlertsArgs struct{}

// Kind is the job's kind.
func (AlertsArgs) Kind() string { return KindAlerts }

// InsertOpts puts alerts on the scheduler queue, tried once: the next
// minute's looks again.
func (AlertsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueScheduler, MaxAttempts: 1}
}

// Mailer renders the operators' emails; *notify.Renderer is one.
type Mailer interface {
	NightLate(operators []string, d notify.NightLate) ([]notify.Message, error)
	JobsFailed(operators []string, d notify.JobsFailed) ([]notify.Message, error)
}

// MailQueue is where the emails go: the catalog's outbox, which drops a
// second mail of the same key, so that each night and each quarter of an
// hour is reported once however often it is looked at.
type MailQueue interface {
	EnqueueMail(ctx context.Context, mails ...catalog.OutboxMail) (int, error)
}

// alertQuarter is the span of failed jobs one email reports.
const alertQuarter = 15 * time.Minute

// maxListed is how many failed jobs one email lists.
const maxListed = 20

type alertsWorker struct {
	river.WorkerDefaults[AlertsArgs]
	q *Queue
}

func (w *alertsWorker) Timeout(*river.Job[AlertsArgs]) time.Duration { return time.Minute }

func (w *alertsWorker) Work(ctx context.Context, _ *river.Job[AlertsArgs]) error {
	return w.q.Alerts(ctx)
}

// Alerts tells the operators ([cluster] operators) when the current night
// is projected to end after its window, and which jobs failed for good in
// each past quarter of an hour of the last hour; without operators it only
// logs. It is the alerts job's work.
func (q *Queue) Alerts(ctx context.Context) error {
	p, err := q.NightProgress(ctx)
	if err != nil {
		return err
	}
	var mails []catalog.OutboxMail
	ops := q.o.Cluster.Operators
	if done := p.Jobs - p.Open; p.Open > 0 && done > 0 && p.ProjectedEnd.After(p.WindowEnd) {
		q.log.Warn("the night is projected to miss its window", "night", p.Night, "projected_end", p.ProjectedEnd,
			"window_end", p.WindowEnd, "done", done, "jobs", p.Jobs)
		if len(ops) > 0 && q.o.Mailer != nil {
			m, err := q.o.Mailer.NightLate(ops, notify.NightLate{Night: p.Night, Done: done, Jobs: p.Jobs,
				ProjectedEnd: p.ProjectedEnd, WindowEnd: p.WindowEnd, NodesAlive: p.NodesAlive})
			if err != nil {
				return err
			}
			mails = append(mails, m...)
		}
	}
	quarters, err := q.failedQuarters(ctx)
	if err != nil {
		return err
	}
	for _, f := range quarters {
		q.log.Warn("jobs failed for good", "from", f.From, "jobs", len(f.Jobs)+f.More)
		if len(ops) > 0 && q.o.Mailer != nil {
			m, err := q.o.Mailer.JobsFailed(ops, f)
			if err != nil {
				return err
			}
			mails = append(mails, m...)
		}
	}
	if len(mails) == 0 || q.o.Mail == nil {
		return nil
	}
	n, err := q.o.Mail.EnqueueMail(ctx, mails...)
	if err != nil {
		return fmt.Errorf("queueing the operators' alerts: %w", err)
	}
	if n > 0 {
		q.WakeOutbox()
	}
	return nil
}

// failedQuarters gathers the jobs that failed for good in each quarter of
// an hour of the last hour that is over, by the database's clock.
func (q *Queue) failedQuarters(ctx context.Context) ([]notify.JobsFailed, error) {
	rows, err := q.o.Pool.Query(ctx, `SELECT id, kind, args::text, attempt,
		coalesce(errors[array_length(errors, 1)]->>'error', ''),
		date_bin('15 minutes', finalized_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')
		FROM river_job WHERE state = 'discarded' AND finalized_at >= now() - interval '1 hour'
		AND finalized_at < date_bin('15 minutes', now(), TIMESTAMPTZ '2000-01-01 00:00:00+00')
		ORDER BY 6, id`)
	if err != nil {
		return nil, fmt.Errorf("listing failed jobs: %w", err)
	}
	defer rows.Close()
	var out []notify.JobsFailed
	for rows.Next() {
		var j notify.FailedJob
		var from time.Time
		if err := rows.Scan(&j.ID, &j.Kind, &j.Args, &j.Attempts, &j.Error, &from); err != nil {
			return nil, err
		}
		if len(out) == 0 || !out[len(out)-1].From.Equal(from) {
			out = append(out, notify.JobsFailed{From: from, To: from.Add(alertQuarter)})
		}
		f := &out[len(out)-1]
		if len(f.Jobs) < maxListed {
			f.Jobs = append(f.Jobs, j)
		} else {
			f.More++
		}
	}
	return out, rows.Err()
}

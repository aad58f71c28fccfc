package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/outbox"
	"mtm/internal/scheduler"
	"mtm/internal/snapshot"
)

// Engine snapshots one account unless it already has a committed
// snapshot taken since a time; *snapshot.Engine is one.
type Engine interface {
	AccountSince(ctx context.Context, address string, since time.Time) snapshot.Result
}

// Outcomes records an account's outcome of a night; *scheduler.Outcomes
// is one.
type Outcomes interface {
	Record(ctx context.Context, night, account string, failure error)
}

// Restores runs a confirmed restore; *restoreflow.Flow is one. It returns
// restoreflow.ErrStopped when the run stopped before its end.
type Restores interface {
	RunJob(ctx context.Context, id catalog.RestoreID, resumed bool) error
}

// Outbox delivers the mails that are due; *outbox.Sender is one.
type Outbox interface {
	RunOnce(ctx context.Context) (outbox.Result, error)
}

// Options configure a Queue. Pool, Nodes, Cluster and Schedule are always
// required; a node that works jobs needs the parts its queues use.
type Options struct {
	Pool     *pgxpool.Pool // the catalog's (catalog.DB.Pool)
	Nodes    catalog.Nodes // the catalog: this node's id, and the others'
	Cluster  config.Cluster
	Schedule scheduler.Schedule
	Clock    clock.Clock
	Logger   *slog.Logger

	Accounts scheduler.Accounts // the accounts file, read by each night
	Engine   Engine
	Outcomes Outcomes
	Observer scheduler.Observer // may be nil
	Pruner   scheduler.Pruner
	Restores Restores
	Outbox   Outbox
	Retry    scheduler.Retry // the snapshots' retries within a night
	Slots    *Slots          // the cluster's IMAP connection slots, renewed at every beat; may be nil
	Mailer   Mailer          // the operators' alerts; nil: only logged
	Mail     MailQueue       // where the alerts are queued

	// NightPoll is how often a night's prune looks whether its snapshots
	// are done; default 15 s. BeatEvery is how often the node beats and
	// looks for dead nodes; default 5 s.
	NightPoll, BeatEvery time.Duration
	// StopGrace is how long a stopping node lets its running jobs finish
	// before it hands them back; default 0: at once, since a job handed
	// back resumes where it stopped (a snapshot from its staging, a
	// restore from the live mailbox) on whichever node takes it.
	StopGrace time.Duration
	// OutboxEvery is how often the leader inserts an outbox round; default
	// 30 s (a mail queued on any node also inserts one at once).
	OutboxEvery time.Duration
}

// Queue is this node's part of the cluster's job queue. Build it with New,
// then Run it.
type Queue struct {
	o        Options
	client   *river.Client[pgx.Tx]  // works the jobs (when Run) and inserts
	txClient *river.Client[*sql.Tx] // inserts in a catalog transaction
	works    bool                   // the node works some queue
	stopping atomic.Bool
	log      *slog.Logger
}

// New builds the queue of this node: the queues its roles work, the
// workers, and, for the leader, the periodic night and outbox round.
func New(o Options) (*Queue, error) {
	if o.Pool == nil || o.Nodes == nil || o.Clock == nil {
		return nil, errors.New("jobs: a PostgreSQL pool, the catalog's nodes and a clock are required")
	}
	setDefault(&o.NightPoll, 15*time.Second)
	setDefault(&o.BeatEvery, 5*time.Second)
	setDefault(&o.OutboxEvery, 30*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	q := &Queue{o: o, log: o.Logger}
	cfg := &river.Config{ID: o.Nodes.Owner(), Logger: riverLogger(o.Logger), RescueStuckJobsAfter: rescueAfter,
		Test: river.TestConfig{Time: riverTime{o.Clock}}}
	queues := map[string]river.QueueConfig{}
	if o.Cluster.Has(config.RoleWorker) {
		if o.Engine == nil || o.Outcomes == nil || o.Pruner == nil || o.Restores == nil || o.Outbox == nil ||
			o.Accounts == nil {
			return nil, errors.New("jobs: a worker needs the engine, outcomes, pruner, restores, outbox and accounts")
		}
		queues[QueueDefault] = river.QueueConfig{MaxWorkers: o.Cluster.WorkerConcurrency}
		queues[QueueMaintenance] = river.QueueConfig{MaxWorkers: 1}
	}
	if o.Cluster.Has(config.RoleScheduler) {
		if o.Accounts == nil {
			return nil, errors.New("jobs: a scheduler needs the accounts")
		}
		queues[QueueScheduler] = river.QueueConfig{MaxWorkers: 1}
	}
	q.works = len(queues) > 0
	if q.works {
		cfg.Queues = queues
		cfg.Workers = q.workers()
		cfg.PeriodicJobs = q.periodic()
	}
	var err error
	if q.client, err = river.NewClient(riverpgxv5.New(o.Pool), cfg); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if q.txClient, err = river.NewClient(riverdatabasesql.New(nil), &river.Config{Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return q, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// riverLogger is the node's logger for River, one level quieter: River
// says at info what mtm says at debug.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(quieter{l.Handler()})
}

type quieter struct{ slog.Handler }

func (q quieter) Enabled(ctx context.Context, lv slog.Level) bool {
	if lv == slog.LevelInfo {
		lv = slog.LevelDebug
	}
	return q.Handler.Enabled(ctx, lv)
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return q.Handler.Handle(ctx, r)
}

// riverTime gives River the node's clock for its own schedule (the
// periodic night fires by the clock mtm's scheduler would use); the
// database's times stay the database's.
type riverTime struct{ clk clock.Clock }

func (t riverTime) Now() time.Time       { return t.clk.Now() }
func (t riverTime) NowOrNil() *time.Time { return nil }

// periodic is what the leader inserts: the night at every fire time (and
// at its election, the night last due: a night every node missed is
// caught up), and an outbox round now and then.
func (q *Queue) periodic() []*river.PeriodicJob {
	sched := q.o.Schedule
	night := river.NewPeriodicJob(nightSchedule{sched}, func() (river.JobArgs, *river.InsertOpts) {
		f := sched.Prev(q.o.Clock.Now())
		return NightArgs{Night: sched.Night(f), Fire: f}, dueNow()
	}, &river.PeriodicJobOpts{ID: "night", RunOnStart: true})
	round := river.NewPeriodicJob(river.PeriodicInterval(q.o.OutboxEvery), func() (river.JobArgs, *river.InsertOpts) {
		return OutboxArgs{}, dueNow()
	}, &river.PeriodicJobOpts{ID: "outbox", RunOnStart: true})
	alerts := river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
		return AlertsArgs{}, dueNow()
	}, &river.PeriodicJobOpts{ID: "alerts"})
	return []*river.PeriodicJob{night, round, alerts}
}

// dueNow makes a periodic job due at once. River would schedule it at the
// fire time of the node's clock, but a job's scheduled time is compared
// with the database's clock, and the node's may run elsewhere (a clock
// moved for tests, or one a little ahead): a time long past is due on
// every clock. Jobs are fetched oldest scheduled first, so these two go
// before the others of their queue, which suits a night and a mail round.
func dueNow() *river.InsertOpts { return &river.InsertOpts{ScheduledAt: time.Unix(1, 0).UTC()} }

// nightSchedule is the nightly schedule as River asks for it.
type nightSchedule struct{ s scheduler.Schedule }

func (n nightSchedule) Next(t time.Time) time.Time { return n.s.Next(t) }

// EnqueueRestore inserts a confirmed restore's job in tx, the catalog
// transaction that confirms it (restoreflow.Queue).
func (q *Queue) EnqueueRestore(ctx context.Context, tx *sql.Tx, id catalog.RestoreID) error {
	if _, err := q.txClient.InsertTx(ctx, tx, RestoreArgs{Restore: int64(id)}, nil); err != nil {
		return fmt.Errorf("queueing restore %d: %w", id, err)
	}
	return nil
}

// WakeOutbox inserts an outbox round, after a transaction queued mail. It
// never blocks; if the insert fails, the leader's periodic round sends
// the mail.
func (q *Queue) WakeOutbox() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := q.client.Insert(ctx, OutboxArgs{}, nil); err != nil {
			q.log.Warn("queueing an outbox round; the periodic round sends the mail", "err", err)
		}
	}()
}

// Run registers the node, works its queues (if its roles have any) and
// beats until ctx ends; then it stops fetching, lets running jobs finish
// for StopGrace, hands back those still running (they are available to
// any node at once), and records the node's stop: within StopGrace and
// 30 s.
func (q *Queue) Run(ctx context.Context) error {
	nodes := q.o.Nodes
	if err := nodes.RegisterNode(ctx, q.o.Cluster.Roles); err != nil {
		return err
	}
	start := context.WithoutCancel(ctx)
	if q.works {
		if err := q.client.Start(start); err != nil {
			return fmt.Errorf("starting the job queue: %w", err)
		}
		q.log.Info("working jobs", "node", nodes.Owner(), "roles", q.o.Cluster.Roles,
			"concurrency", q.o.Cluster.WorkerConcurrency)
	}
	q.beat(ctx)
	q.stopping.Store(true)
	var err error
	if q.works {
		err = q.stop(start)
	}
	return errors.Join(err, nodes.StopNode(start))
}

// stop stops the client: running jobs get StopGrace to finish, then their
// contexts end and they hand themselves back (river.JobSnooze(0)).
func (q *Queue) stop(ctx context.Context) error {
	if q.o.StopGrace > 0 {
		grace, cancel := context.WithTimeout(ctx, q.o.StopGrace)
		defer cancel()
		if err := q.client.Stop(grace); err == nil {
			return nil
		}
		q.log.Warn("jobs still running after the stop grace; handing them back")
	}
	hard, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	if err := q.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("stopping the job queue: %w", err)
	}
	return nil
}

// Stopping tells whether the node is stopping: a job whose context ended
// hands itself back instead of counting a failed attempt.
func (q *Queue) Stopping() bool { return q.stopping.Load() }

type nopObserver struct{}

func (nopObserver) Snapshot(snapshot.Result, int) {}
func (nopObserver) Night(scheduler.NightReport)   {}

// RestoresFunc is a function that runs a confirmed restore, as Restores.
type RestoresFunc func(ctx context.Context, id catalog.RestoreID, resumed bool) error

// RunJob calls f.
func (f RestoresFunc) RunJob(ctx context.Context, id catalog.RestoreID, resumed bool) error {
	return f(ctx, id, resumed)
}

package jobs

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// The queues. A worker node works QueueDefault and QueueMaintenance, a
// scheduler node QueueScheduler.
const (
	QueueDefault     = river.QueueDefault
	QueueMaintenance = "maintenance" // prune: one at a time per node, alone in the cluster by its lock
	QueueScheduler   = "scheduler"   // the nights
)

// The job kinds, as River's table names them.
const (
	KindSnapshot = "snapshot"
	KindNight    = "night"
	KindPrune    = "prune"
	KindRestore  = "restore"
	KindOutbox   = "outbox"
)

// Kinds lists every kind, in the order the operations page shows them.
var Kinds = []string{KindNight, KindSnapshot, KindPrune, KindRestore, KindOutbox, KindAlerts}

// everyState makes a job unique in every state: while River keeps the
// finished job (CompletedJobRetentionPeriod), inserting it again is a
// no-op.
func everyState() []rivertype.JobState {
	return []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateCancelled,
		rivertype.JobStateCompleted, rivertype.JobStateDiscarded, rivertype.JobStatePending,
		rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}
}

// SnapshotArgs is one account's snapshot of one night: unique by account
// and night in every state, so a night never snapshots an account twice,
// even if two schedulers insert it.
type SnapshotArgs struct {
	Account string    `json:"account" river:"unique"`
	Night   string    `json:"night" river:"unique"`
	Fire    time.Time `json:"fire"` // the night's fire time: a snapshot taken since counts
}

// Kind is the job's kind.
func (SnapshotArgs) Kind() string { return KindSnapshot }

// InsertOpts: the attempts of the in-process scheduler's nights.
func (SnapshotArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: snapshotAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: everyState()}}
}

// NightArgs is a night: it inserts the night's snapshot jobs, waits until
// they are all finished, then inserts the prune. Unique by night.
type NightArgs struct {
	Night string    `json:"night" river:"unique"`
	Fire  time.Time `json:"fire"`
}

// Kind is the job's kind.
func (NightArgs) Kind() string { return KindNight }

// InsertOpts puts nights on the scheduler queue.
func (NightArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueScheduler, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: everyState()}}
}

// PruneArgs is the prune after a night. Unique by night.
type PruneArgs struct {
	Night string `json:"night" river:"unique"`
}

// Kind is the job's kind.
func (PruneArgs) Kind() string { return KindPrune }

// InsertOpts puts prunes on the maintenance queue.
func (PruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: everyState()}}
}

// RestoreArgs is a confirmed restore request, inserted in the transaction
// that confirms it. Unique by request.
type RestoreArgs struct {
	Restore int64 `json:"restore" river:"unique"`
}

// Kind is the job's kind.
func (RestoreArgs) Kind() string { return KindRestore }

// InsertOpts: a restore is retried while its attempts last; a stopped run
// is resumed without using one.
func (RestoreArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: everyState()}}
}

// OutboxArgs is one round of the outbox: deliver what is due. Rounds are
// not unique: two at once claim different mails (catalog ClaimMail).
type OutboxArgs struct{}

// Kind is the job's kind.
func (OutboxArgs) Kind() string { return KindOutbox }

// InsertOpts: a round is not retried; the outbox keeps each mail's own
// retry schedule, and the next round sends what is due.
func (OutboxArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// The timeouts and attempts of docs/design.md, "Jobs and nodes".
const (
	snapshotAttempts = 4
	snapshotTimeout  = 2 * time.Hour
	nightTimeout     = 10 * time.Minute
	pruneTimeout     = 6 * time.Hour
	restoreTimeout   = 6 * time.Hour
	outboxTimeout    = 5 * time.Minute
	// rescueAfter is River's own rescue of a job stuck running: longer than
	// the longest timeout. A node that dies has its jobs handed on at once
	// (Queue.reap); this is the rescue of last resort.
	rescueAfter = restoreTimeout + time.Hour
)

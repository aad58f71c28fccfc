// Package jobs owns the work of `mtm serve` on a PostgreSQL catalog
// (docs/design.md, "Jobs and nodes"): every unit of work is a durable job
// in River's queue on the catalog's database, and every node is
// interchangeable. It owns the job kinds (a night's snapshot of one
// account, the night that inserts them and then the prune, a confirmed
// restore, an outbox round), their arguments, uniqueness, timeouts and
// retries; which queues a node works by its [cluster] roles; the node's
// heartbeat in the catalog's nodes table and the hand-over of a dead
// node's running jobs; and the listing and retrying of jobs for `mtm jobs`
// and the operations figures.
//
// The work itself stays in the packages that own it (the snapshot engine,
// the scheduler's outcomes and prune, the restore flow, the outbox
// sender), reached through the small interfaces of Options, so a job does
// exactly what the in-process scheduler of the embedded catalog does.
package jobs

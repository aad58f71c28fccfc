// Package scheduler owns the nightly work of `mtm serve` (docs/workflows.md,
// "Scheduler"): every day at snapshot_at in timezone it snapshots every
// account of the accounts file (read again each night), retries the
// accounts that failed with exponential backoff and jitter until the next
// night is due, prunes, records each account's outcome of the night in the
// catalog, and tells an account's admins, once per streak, when it has
// failed on two consecutive nights.
//
// Fire times are computed on calendar dates in the configured zone (see
// Schedule.On), so DST changes neither skip nor repeat a night. Nights run
// one after another in Run's goroutine and never overlap; a night's
// accounts run through one Engine.Run at a time, so the engine's own bound
// on concurrent accounts is the bound of the whole process.
//
// A night takes only the accounts that have no committed snapshot taken at
// or after its fire time. That one rule gives catch-up at start-up (the
// night that was due while the process was down runs at once, for the
// accounts that missed it), makes a restart during a night resume it
// without snapshotting anybody twice, and decides what an overdue night
// does after a night that overran.
//
// The package owns no storage: what it remembers (failure streaks and
// whether admins were told) lives in the catalog's account_failures table.
// Everything it uses comes in through the small interfaces below and
// Options, and it waits only through clock.Sleeper, so tests run days on a
// clock.Fake in microseconds.
package scheduler

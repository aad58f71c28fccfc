package prune

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/bytesize"
	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// Catalog is what prune needs of the catalog.
type Catalog interface {
	catalog.Maintenance
}

// Blobs is what prune needs of the blob store.
type Blobs interface {
	List(ctx context.Context, fn func(blobstore.Info) error) error
	Delete(ctx context.Context, h blobstore.Hash) error
	// Compact frees the space of deleted blobs, calling beat as it goes.
	Compact(ctx context.Context, beat func(context.Context) error) (blobstore.CompactResult, error)
}

// Plan is what a prune will do, computed without changing anything.
type Plan struct {
	Now      time.Time
	CutoffAt time.Time             // start of the cutoff day
	Cutoff   string                // oldest kept day
	Drop     []catalog.SnapshotRef // snapshots to drop
	LastGood []catalog.SnapshotRef // older than the cutoff, kept as the last good backup
	Expiry   catalog.Expiry        // what dropping them removes from the catalog
	Garbage  int64                 // blobs already garbage (an earlier prune deferred them)
	GBytes   int64                 // their stored size
	Orphans  []blobstore.Info      // blobs no catalog row names
	// AuditBefore is when the audit events kept begin (zero: all kept),
	// and AuditEvents how many older ones the prune deletes.
	AuditBefore time.Time
	AuditEvents int64
}

// Blobs is the number of blobs the plan deletes, and their stored bytes.
func (p *Plan) Blobs() (n, bytes int64) {
	n = p.Expiry.Contents + p.Garbage + int64(len(p.Orphans))
	bytes = p.Expiry.ContentBytes + p.GBytes
	for _, o := range p.Orphans {
		bytes += o.StoredSize
	}
	return n, bytes
}

// MakePlan computes the plan of a prune at the clock's now.
func MakePlan(ctx context.Context, cat Catalog, blobs Blobs, pol Policy, clk clock.Clock) (*Plan, error) {
	now := clk.Now()
	snaps, err := cat.AllSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	p := &Plan{Now: now, Cutoff: pol.Cutoff(now), CutoffAt: pol.CutoffTime(now)}
	p.Drop, p.LastGood = pol.Select(now, snaps)
	if p.Expiry, err = cat.PlanExpiry(ctx, ids(p.Drop)); err != nil {
		return nil, err
	}
	err = cat.Garbage(ctx, func(g catalog.Garbage) error {
		p.Garbage++
		p.GBytes += g.StoredSize
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.Orphans, err = orphans(ctx, cat, blobs); err != nil {
		return nil, err
	}
	if pol.AuditDays > 0 {
		p.AuditBefore = now.AddDate(0, 0, -pol.AuditDays)
		if p.AuditEvents, err = cat.AuditBefore(ctx, p.AuditBefore); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func ids(snaps []catalog.SnapshotRef) []catalog.SnapshotID {
	out := make([]catalog.SnapshotID, len(snaps))
	for i, s := range snaps {
		out[i] = s.ID
	}
	return out
}

// orphans lists the blobs that neither a contents row nor a garbage row
// names: left by runs that died between storing a blob and staging it, or
// stored by a run that is still going (those are named by the time prune
// deletes, and spared).
func orphans(ctx context.Context, cat Catalog, blobs Blobs) ([]blobstore.Info, error) {
	var out []blobstore.Info
	err := blobs.List(ctx, func(info blobstore.Info) error {
		content, garbage, err := cat.Named(ctx, info.Hash)
		if err != nil {
			return err
		}
		if !content && !garbage {
			out = append(out, info)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing blobs: %w", err)
	}
	return out, nil
}

// WriteTo prints the plan for people.
func (p *Plan) WriteTo(w io.Writer) (int64, error) {
	var cw bytes.Buffer // written whole at the end
	fmt.Fprintf(&cw, "retention: keeping every snapshot of %s and later\n", p.Cutoff)
	for _, s := range p.LastGood {
		fmt.Fprintf(&cw, "keep    snapshot %d of %s (%s): the account's last good backup\n", s.ID, s.Address, s.Day)
	}
	for _, s := range p.Drop {
		fmt.Fprintf(&cw, "drop    snapshot %d of %s (%s, %s)\n", s.ID, s.Address, s.Day, s.State)
	}
	e := p.Expiry
	fmt.Fprintf(&cw, "catalog: %d snapshots, %d message versions, %d folder versions, %d mailbox identities, "+
		"%d staging rows, %d contents\n", e.Snapshots, e.Entries, e.Folders, e.Mailboxes, e.Staged, e.Contents)
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&cw, "skipped: %d accounts with a snapshot running; a later prune expires them\n", len(e.Skipped))
	}
	blobs, size := p.Blobs()
	fmt.Fprintf(&cw, "blobs:   %d to delete, %s (%d freed by this expiry, %d already garbage, %d orphans)\n",
		blobs, bytesize.Format(size), e.Contents, p.Garbage, len(p.Orphans))
	if !p.AuditBefore.IsZero() {
		fmt.Fprintf(&cw, "audit:   %d events before %s to delete\n", p.AuditEvents, p.AuditBefore.UTC().Format(time.RFC3339))
	}
	n, err := w.Write(cw.Bytes())
	return int64(n), err
}

// DefaultWait is how long a prune waits for running snapshots before it
// defers blob deletion to the next prune, unless told otherwise.
const DefaultWait = 5 * time.Minute

// Options tune Execute.
type Options struct {
	// Wait is how long to keep asking for the blob-deletion lock while
	// snapshots run (DefaultWait for `mtm prune` and the nightly prune);
	// 0 asks once. Poll is the interval; default 1 s.
	Wait, Poll time.Duration
	Clock      clock.Clock
	Logger     *slog.Logger
}

// Result is what Execute did.
type Result struct {
	Expiry       catalog.Expiry
	BlobsDeleted int64
	BytesFreed   int64
	Spared       int64 // garbage or orphans that a catalog row named again
	Compacted    blobstore.CompactResult
	AuditDeleted int64 // audit events past their retention
	// Deferred is set when the blob-deletion lock could not be taken: the
	// catalog part is done, the blobs wait in garbage for the next prune.
	Deferred error
}

// Execute carries out the plan: the catalog expiry in one transaction, then
// the blob deletions under the blob-deletion lock.
func (p *Plan) Execute(ctx context.Context, cat Catalog, blobs Blobs, opts Options) (*Result, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	res := &Result{}
	var err error
	if res.Expiry, err = cat.Expire(ctx, ids(p.Drop), p.CutoffAt); err != nil {
		return nil, err
	}
	if !p.AuditBefore.IsZero() {
		if res.AuditDeleted, err = cat.ExpireAudit(ctx, p.AuditBefore); err != nil {
			return nil, err
		}
	}
	lock, err := takeLock(ctx, cat, opts)
	if errors.Is(err, catalog.ErrBusy) {
		res.Deferred = err
		opts.Logger.Warn("blob deletion deferred to the next prune", "err", err)
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	err = deleteBlobs(ctx, cat, blobs, lock, p.Orphans, res)
	if err == nil {
		res.Compacted, err = blobs.Compact(ctx, lock.Heartbeat)
	}
	if rerr := lock.Release(context.WithoutCancel(ctx)); rerr != nil {
		err = errors.Join(err, fmt.Errorf("releasing the blob-deletion lock: %w", rerr))
	}
	return res, err
}

// takeLock asks for the blob-deletion lock every Poll until Wait has
// passed (counted in attempts, so a fake clock cannot make it spin).
func takeLock(ctx context.Context, cat Catalog, opts Options) (*catalog.BlobLock, error) {
	attempts := int(opts.Wait/opts.Poll) + 1
	for i := 1; ; i++ {
		lock, err := cat.LockBlobDeletion(ctx)
		if !errors.Is(err, catalog.ErrBusy) || i >= attempts {
			return lock, err
		}
		opts.Logger.Info("waiting for running snapshots before deleting blobs", "err", err)
		if err := clock.Sleep(ctx, opts.Clock, opts.Poll); err != nil {
			return nil, err
		}
	}
}

// forgetBatch is how many deletions are recorded (and the lock refreshed)
// per catalog transaction.
const forgetBatch = 500

// deleteBlobs deletes every garbage blob and every orphan that no contents
// row names, holding lock. The garbage list is read again now: the expiry
// has just added to it.
func deleteBlobs(ctx context.Context, cat Catalog, blobs Blobs, lock *catalog.BlobLock,
	orphans []blobstore.Info, res *Result) error {
	var todo []catalog.Garbage
	if err := cat.Garbage(ctx, func(g catalog.Garbage) error { todo = append(todo, g); return nil }); err != nil {
		return err
	}
	for _, o := range orphans {
		todo = append(todo, catalog.Garbage{Hash: o.Hash, StoredSize: o.StoredSize})
	}
	var done [][32]byte
	for i, g := range todo {
		ok, err := lock.Deletable(ctx, g.Hash)
		if err != nil {
			return err
		}
		if !ok {
			res.Spared++
		} else {
			err := blobs.Delete(ctx, blobstore.Hash(g.Hash))
			switch {
			case err == nil:
				res.BlobsDeleted++
				res.BytesFreed += g.StoredSize
			case !errors.Is(err, blobstore.ErrNotFound):
				return errors.Join(err, lock.Forget(ctx, done))
			}
		}
		done = append(done, g.Hash)
		if len(done) == forgetBatch || i == len(todo)-1 {
			if err := lock.Forget(ctx, done); err != nil {
				return err
			}
			done = slices.Delete(done, 0, len(done))
		}
	}
	return nil
}

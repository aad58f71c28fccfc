// Package snapshot owns the IMAP sync engine: it takes snapshots of many
// accounts from the live IMAP server into the blob store and the catalog,
// following the algorithm of docs/design.md ("IMAP sync algorithm").
//
// The engine only reads the live mailbox: EXAMINE, FETCH BODY.PEEK[],
// UID SEARCH and LIST. It streams every message body through the hasher, the
// compressor and the header scanner into the blob store; no message or
// folder is held in memory.
package snapshot

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/progress"
)

// Catalog is what the engine needs of the catalog.
type Catalog interface {
	catalog.SnapshotWriter
}

// BlobStore is what the engine needs of the blob store.
type BlobStore interface {
	Put(ctx context.Context, r io.Reader) (blobstore.Info, error)
	// PutAll stores bodies read whole, looking them up together.
	PutAll(ctx context.Context, blobs [][]byte) ([]blobstore.Info, error)
	Has(ctx context.Context, h blobstore.Hash) (bool, error)
	// Sync makes the blobs put so far durable; the engine calls it before
	// every catalog batch that names them.
	Sync(ctx context.Context) error
	// Seal syncs and lets go of the store's open pack, so prune may compact
	// it; the engine calls it when a Run ends.
	Seal(ctx context.Context) error
}

// Progress receives the run's progress.
type Progress interface {
	AccountStarted(address string)
	AccountDone(address string, err error, stats progress.AccountStats)
	Add(folders int, messages int64, bytes int64)
}

// Options configure an Engine.
type Options struct {
	Server                imapconn.Server
	ConnectionsPerAccount int // default 2
	ConcurrentAccounts    int // default 4
	Clock                 clock.Clock
	Logger                *slog.Logger
	Progress              Progress // may be nil
	HeartbeatEvery        time.Duration
	// PruneWait is how long an account waits for prune to finish deleting
	// blobs before its snapshot fails; default 30 minutes. PrunePoll is how
	// often it looks; default 1 s.
	PruneWait, PrunePoll time.Duration
}

// Engine takes snapshots.
type Engine struct {
	cat             Catalog
	blobs           BlobStore
	server          imapconn.Server
	connsPerAccount int
	concurrent      int
	clk             clock.Clock
	log             *slog.Logger
	progress        Progress
	heartbeatEvery  time.Duration
	pruneWait       time.Duration
	prunePoll       time.Duration

	// cpu holds a slot per batch of bodies being stored by a worker: the
	// CPU-bound part of a first snapshot (hash, header summary,
	// compression) runs on every core while the connections read on.
	cpu    chan struct{}
	bodies sync.Pool // *[]byte: bodies read whole

	// beforeExamine, when set by tests, runs before each folder is examined.
	beforeExamine func(folder string)
	// beforeDial, when set by tests, runs before each connection is opened.
	beforeDial func()
}

// New returns an engine writing to cat and blobs.
func New(cat Catalog, blobs BlobStore, opts Options) *Engine {
	e := &Engine{cat: cat, blobs: blobs, server: opts.Server, connsPerAccount: opts.ConnectionsPerAccount,
		concurrent: opts.ConcurrentAccounts, clk: opts.Clock, log: opts.Logger, progress: opts.Progress,
		heartbeatEvery: opts.HeartbeatEvery, pruneWait: opts.PruneWait, prunePoll: opts.PrunePoll}
	if e.connsPerAccount < 1 {
		e.connsPerAccount = 2
	}
	if e.concurrent < 1 {
		e.concurrent = 4
	}
	if e.clk == nil {
		e.clk = clock.Real{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.progress == nil {
		e.progress = nopProgress{}
	}
	if e.heartbeatEvery == 0 {
		e.heartbeatEvery = 30 * time.Second
	}
	if e.pruneWait == 0 {
		e.pruneWait = 30 * time.Minute
	}
	if e.prunePoll == 0 {
		e.prunePoll = time.Second
	}
	if e.server.Timeout == 0 {
		e.server.Timeout = time.Minute
	}
	e.cpu = make(chan struct{}, runtime.GOMAXPROCS(0)+1)
	return e
}

// Result is the outcome of one account's snapshot.
type Result struct {
	Address  string
	Snapshot catalog.Snapshot
	Err      error
	Duration time.Duration
}

// Run snapshots the accounts, ConcurrentAccounts at a time, and returns a
// result per account in the given order. One account's failure does not
// stop the others.
func (e *Engine) Run(ctx context.Context, accounts []string) []Result {
	results := make([]Result, len(accounts))
	sem := make(chan struct{}, e.concurrent)
	var wg sync.WaitGroup
	for i, addr := range accounts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i] = Result{Address: addr, Err: ctx.Err()}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = e.Account(ctx, addr)
		}()
	}
	wg.Wait()
	if err := e.blobs.Seal(context.WithoutCancel(ctx)); err != nil {
		// Every committed snapshot synced its blobs already; what is left
		// unsealed is only bytes of failed runs.
		e.log.Warn("sealing the blob pack", "err", err)
	}
	return results
}

// Account takes one snapshot of one account.
func (e *Engine) Account(ctx context.Context, address string) Result {
	return e.AccountSince(ctx, address, time.Time{})
}

// AccountSince is Account, unless the account already has a committed
// snapshot taken at or after since: then that snapshot is the result, and
// nothing is asked of the IMAP server. A night's snapshot job runs through
// it, so a job run twice (a node taken for dead that was not) commits one
// snapshot for the night.
func (e *Engine) AccountSince(ctx context.Context, address string, since time.Time) Result {
	start := e.clk.Now()
	e.progress.AccountStarted(address)
	snap, err := e.snapshotAccount(ctx, address, since)
	res := Result{Address: address, Snapshot: snap, Err: err, Duration: e.clk.Now().Sub(start)}
	e.progress.AccountDone(address, err, progress.AccountStats{
		Folders: int(snap.Folders), Messages: snap.Messages, Bytes: snap.Bytes,
		FetchedMessages: snap.FetchedMessages, FetchedBytes: snap.FetchedBytes, Duration: res.Duration,
	})
	return res
}

type nopProgress struct{}

func (nopProgress) AccountStarted(string)                            {}
func (nopProgress) AccountDone(string, error, progress.AccountStats) {}
func (nopProgress) Add(int, int64, int64)                            {}

package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/imapconn"
	"mtm/internal/mailsum"
)

// accountSync is one account's snapshot run.
type accountSync struct {
	e       *Engine
	address string
	run     *catalog.Run
	blobs   BlobStore
	clk     clock.Clock
	log     *slog.Logger

	folders      atomic.Int64
	messages     atomic.Int64
	fetchedMsgs  atomic.Int64
	fetchedBytes atomic.Int64
	newBlobs     atomic.Int64
	newBlobBytes atomic.Int64
	scannerPool  sync.Pool
}

// add counts progress for the account and the run's reporter.
func (a *accountSync) add(folders int, messages, bytes int64) {
	a.folders.Add(int64(folders))
	a.messages.Add(messages)
	a.e.progress.Add(folders, messages, bytes)
}

// storeBody streams a message body into the blob store, computing its
// header summary on the way.
func (a *accountSync) storeBody(ctx context.Context, body io.Reader) (catalog.Content, error) {
	sc, _ := a.scannerPool.Get().(*mailsum.Scanner)
	if sc == nil {
		sc = mailsum.NewScanner()
	}
	defer func() {
		sc.Reset()
		a.scannerPool.Put(sc)
	}()
	info, err := a.blobs.Put(ctx, io.TeeReader(body, sc))
	if err != nil {
		return catalog.Content{}, fmt.Errorf("storing message: %w", err)
	}
	a.fetchedMsgs.Add(1)
	a.fetchedBytes.Add(info.Size)
	if info.Created {
		a.newBlobs.Add(1)
		a.newBlobBytes.Add(info.StoredSize)
	}
	a.add(0, 1, info.Size)
	s := sc.Summary()
	return catalog.Content{
		Hash: info.Hash, Size: info.Size, StoredSize: info.StoredSize,
		From: s.From, To: s.To, Cc: s.Cc, Subject: s.Subject, Date: s.Date, MessageID: s.MessageID,
		HasAttachments: s.HasAttachments,
	}, nil
}

// snapshotAccount takes one snapshot of address. A failure is recorded on
// the snapshot row with its reason and returned.
func (e *Engine) snapshotAccount(ctx context.Context, address string) (catalog.Snapshot, error) {
	acct, err := e.cat.Account(ctx, address)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	run, err := e.begin(ctx, acct)
	if err != nil {
		return catalog.Snapshot{}, fmt.Errorf("%s: %w", address, err)
	}
	a := &accountSync{e: e, address: address, run: run, blobs: e.blobs, clk: e.clk,
		log: e.log.With("account", address, "snapshot", int64(run.ID))}
	snap, err := a.sync(ctx)
	if err != nil {
		reason := err.Error()
		if ctx.Err() != nil {
			reason = "interrupted: " + reason
		}
		// Record the failure even when ctx is cancelled.
		if ferr := run.Fail(context.WithoutCancel(ctx), reason); ferr != nil {
			err = errors.Join(err, fmt.Errorf("recording failure: %w", ferr))
		}
		return catalog.Snapshot{ID: run.ID, State: catalog.StateFailed, Error: reason}, fmt.Errorf("%s: %w", address, err)
	}
	return snap, nil
}

// begin begins the account's snapshot. While prune deletes blobs it waits,
// polling every PrunePoll, for at most PruneWait.
func (e *Engine) begin(ctx context.Context, acct catalog.AccountID) (*catalog.Run, error) {
	deadline := e.clk.Now().Add(e.pruneWait)
	for {
		run, err := e.cat.BeginSnapshot(ctx, acct)
		if !errors.Is(err, catalog.ErrPruning) || !e.clk.Now().Before(deadline) {
			return run, err
		}
		e.log.Info("waiting for prune to finish deleting blobs", "err", err)
		if err := clock.Sleep(ctx, e.clk, e.prunePoll); err != nil {
			return nil, err
		}
	}
}

func (a *accountSync) sync(ctx context.Context) (catalog.Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopBeat := a.heartbeat(ctx, cancel)
	defer stopBeat()

	first, err := imapconn.Dial(ctx, a.e.server, a.address)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	conns := []*imapconn.Conn{first}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	listed, err := first.ListFolders()
	if err != nil {
		return catalog.Snapshot{}, err
	}
	live, err := a.run.LiveFolders(ctx)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	prev := make(map[string]catalog.Mailbox, len(live))
	for _, l := range live {
		prev[l.Name] = l.Mailbox
	}
	var selectable []imapconn.Folder
	for _, f := range listed {
		if f.Selectable {
			selectable = append(selectable, f)
		}
	}
	for len(conns) < a.e.connsPerAccount && len(conns) < len(selectable) {
		c, err := imapconn.Dial(ctx, a.e.server, a.address)
		if err != nil {
			return catalog.Snapshot{}, err
		}
		conns = append(conns, c)
	}
	mailboxes, err := a.syncFolders(ctx, conns, selectable, prev)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	return a.commit(ctx, listed, mailboxes)
}

// syncFolders shares the selectable folders among the connections and
// returns, per synced folder, its mailbox identity. Vanished folders are
// left out.
func (a *accountSync) syncFolders(ctx context.Context, conns []*imapconn.Conn, folders []imapconn.Folder,
	prev map[string]catalog.Mailbox) (map[string]int64, error) {
	work := make(chan imapconn.Folder)
	var mu sync.Mutex
	out := make(map[string]int64, len(folders))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if errs[i] != nil {
					continue
				}
				fs := &folderSync{a: a, cn: cn, folder: f, prev: prev[f.Name]}
				id, err := fs.run(ctx)
				switch {
				case errors.Is(err, errVanished):
					a.log.Warn("folder vanished during the run; it is left out of the snapshot", "folder", f.Name)
				case err != nil:
					errs[i] = fmt.Errorf("folder %q: %w", f.Name, err)
				default:
					mu.Lock()
					out[f.Name] = id
					mu.Unlock()
					a.add(1, 0, 0)
				}
			}
		}()
	}
	for _, f := range folders {
		select {
		case work <- f:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

func (a *accountSync) commit(ctx context.Context, listed []imapconn.Folder, mailboxes map[string]int64) (catalog.Snapshot, error) {
	var states []catalog.FolderState
	for _, f := range listed {
		id, ok := mailboxes[f.Name]
		if f.Selectable && !ok {
			continue // vanished
		}
		states = append(states, catalog.FolderState{Name: f.Name, MailboxID: id, Delimiter: f.Delimiter,
			Attributes: f.Attributes, SpecialUse: f.SpecialUse, Subscribed: f.Subscribed})
	}
	if err := a.run.StageFolders(ctx, states); err != nil {
		return catalog.Snapshot{}, err
	}
	return a.run.Commit(ctx, catalog.RunStats{
		FetchedMessages: a.fetchedMsgs.Load(), FetchedBytes: a.fetchedBytes.Load(),
		NewBlobs: a.newBlobs.Load(), NewBlobBytes: a.newBlobBytes.Load(),
	})
}

// heartbeat keeps the run's row alive; a lost row cancels the run.
func (a *accountSync) heartbeat(ctx context.Context, cancel context.CancelFunc) (stop func()) {
	t := time.NewTicker(a.e.heartbeatEvery)
	done := make(chan struct{})
	go func() {
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := a.run.Heartbeat(ctx); err != nil {
					a.log.Error("heartbeat failed; abandoning the run", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

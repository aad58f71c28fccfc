package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"mtm/internal/blobstore"
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
	sc := a.scanner()
	defer a.freeScanner(sc)
	info, err := a.blobs.Put(ctx, io.TeeReader(body, sc))
	if err != nil {
		return catalog.Content{}, fmt.Errorf("storing message: %w", err)
	}
	return a.stored(info, sc.Summary()), nil
}

// storeBodies stores message bodies read whole, in one call to the blob
// store (which looks them up together), and returns their contents in
// order.
func (a *accountSync) storeBodies(ctx context.Context, bodies [][]byte) ([]catalog.Content, error) {
	infos, err := a.blobs.PutAll(ctx, bodies)
	if err != nil {
		return nil, fmt.Errorf("storing %d messages: %w", len(bodies), err)
	}
	sc := a.scanner()
	defer a.freeScanner(sc)
	out := make([]catalog.Content, len(bodies))
	for i, b := range bodies {
		_, _ = sc.Write(b) // never fails
		out[i] = a.stored(infos[i], sc.Summary())
		sc.Reset()
	}
	return out, nil
}

func (a *accountSync) scanner() *mailsum.Scanner {
	if sc, ok := a.scannerPool.Get().(*mailsum.Scanner); ok {
		return sc
	}
	return mailsum.NewScanner()
}

func (a *accountSync) freeScanner(sc *mailsum.Scanner) {
	sc.Reset()
	a.scannerPool.Put(sc)
}

// stored counts a stored message and returns its content.
func (a *accountSync) stored(info blobstore.Info, s mailsum.Summary) catalog.Content {
	a.fetchedMsgs.Add(1)
	a.fetchedBytes.Add(info.Size)
	if info.Created {
		a.newBlobs.Add(1)
		a.newBlobBytes.Add(info.StoredSize)
	}
	a.add(0, 1, info.Size)
	return catalog.Content{
		Hash: info.Hash, Size: info.Size, StoredSize: info.StoredSize,
		From: s.From, To: s.To, Cc: s.Cc, Subject: s.Subject, Date: s.Date, MessageID: s.MessageID,
		HasAttachments: s.HasAttachments,
	}
}

// snapshotAccount takes one snapshot of address (docs/design.md, "IMAP
// sync algorithm"): the account's catalog state, one login and one LIST;
// then the quick commit when nothing changed, or a full run over the
// folders that did. A failure is recorded on a failed snapshot row with its
// reason and returned.
func (e *Engine) snapshotAccount(ctx context.Context, address string, since time.Time) (catalog.Snapshot, error) {
	state, err := e.cat.AccountState(ctx, address)
	if err != nil {
		return catalog.Snapshot{}, fmt.Errorf("%s: %w", address, err)
	}
	if last := state.LastCommitted; !since.IsZero() && last.ID != 0 && !last.TakenAt.Before(since) {
		return last, nil
	}
	takenAt := e.clk.Now()
	first, err := e.dial(ctx, address)
	if err != nil {
		return e.failBeforeRun(ctx, state.Account, address, err)
	}
	conns := &connPool{e: e, address: address, conns: []*imapconn.Conn{first}}
	defer conns.close()
	listed, err := first.ListFolders()
	if err != nil {
		return e.failBeforeRun(ctx, state.Account, address, err)
	}
	changed := "first snapshot"
	if state.LastCommitted.ID != 0 {
		changed = accountChange(listed, state.Folders, first.CondStore)
	}
	if changed == "" {
		snap, err := e.cat.QuickCommit(ctx, state.Account, state.LastCommitted.ID, takenAt)
		if err == nil {
			e.progress.Add(len(listed), snap.Messages, 0)
			return snap, nil
		}
		if !errors.Is(err, catalog.ErrStale) && !errors.Is(err, catalog.ErrBusy) && !errors.Is(err, catalog.ErrPruning) {
			return catalog.Snapshot{}, fmt.Errorf("%s: %w", address, err)
		}
		changed = err.Error()
	}
	e.log.Debug("full snapshot", "account", address, "why", changed)
	run, err := e.begin(ctx, state.Account)
	if err != nil {
		return catalog.Snapshot{}, fmt.Errorf("%s: %w", address, err)
	}
	a := &accountSync{e: e, address: address, run: run, blobs: e.blobs, clk: e.clk,
		log: e.log.With("account", address, "snapshot", int64(run.ID))}
	snap, err := a.sync(ctx, conns, listed)
	if err != nil {
		return catalog.Snapshot{ID: run.ID, State: catalog.StateFailed}, a.fail(ctx, err)
	}
	return snap, nil
}

// failBeforeRun records a failure that came before the run began (the
// login, the LIST) on a failed snapshot row, as a run's own failure is.
func (e *Engine) failBeforeRun(ctx context.Context, acct catalog.AccountID, address string, cause error) (catalog.Snapshot, error) {
	run, err := e.begin(context.WithoutCancel(ctx), acct)
	if err != nil {
		return catalog.Snapshot{}, fmt.Errorf("%s: %w", address, errors.Join(cause, fmt.Errorf("recording failure: %w", err)))
	}
	a := &accountSync{e: e, address: address, run: run}
	return catalog.Snapshot{ID: run.ID, State: catalog.StateFailed}, a.fail(ctx, cause)
}

// fail records the run as failed with the reason of err, even when ctx is
// cancelled, and returns err with the account's address.
func (a *accountSync) fail(ctx context.Context, err error) error {
	reason := err.Error()
	if ctx.Err() != nil {
		reason = "interrupted: " + reason
	}
	if ferr := a.run.Fail(context.WithoutCancel(ctx), reason); ferr != nil {
		err = errors.Join(err, fmt.Errorf("recording failure: %w", ferr))
	}
	return fmt.Errorf("%s: %w", a.address, err)
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

// sync is the full run over the listed folders: the unchanged ones keep
// their identity, the others are examined, over as many connections as
// have bodies to download.
func (a *accountSync) sync(ctx context.Context, conns *connPool, listed []imapconn.Folder) (catalog.Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopBeat := a.heartbeat(ctx, cancel)
	defer stopBeat()

	// The live state again, now that the run holds the account.
	live, err := a.run.LiveFolders(ctx)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	prev := make(map[string]catalog.LiveFolder, len(live))
	for _, l := range live {
		prev[l.Name] = l
	}
	mailboxes := make(map[string]int64, len(listed))
	var examine []imapconn.Folder
	bodies := 0
	for _, f := range listed {
		if !f.Selectable {
			continue
		}
		p, ok := prev[f.Name]
		if ok && unchangedFolder(f, p, conns.first().CondStore) {
			mailboxes[f.Name] = p.Mailbox.ID
			a.add(1, p.Live, 0)
			continue
		}
		examine = append(examine, f)
		if hasBodies(f, p, ok) {
			bodies++
		}
	}
	if err := conns.grow(ctx, min(a.e.connsPerAccount, len(examine), bodies)); err != nil {
		return catalog.Snapshot{}, err
	}
	synced, err := a.syncFolders(ctx, conns.conns, examine, prev)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	maps.Copy(mailboxes, synced)
	return a.commit(ctx, listed, mailboxes)
}

// unchangedFolder tells whether a listed folder is as its live version
// left it (docs/design.md, "IMAP sync algorithm", step 4): same identity,
// UIDNEXT and message count, and, since only CONDSTORE shows flag changes,
// the same non-zero HIGHESTMODSEQ.
func unchangedFolder(f imapconn.Folder, p catalog.LiveFolder, condStore bool) bool {
	st := f.Status
	return st != nil && condStore && p.Mailbox.ID != 0 && st.UIDValidity == p.Mailbox.UIDValidity &&
		st.UIDNext == p.Mailbox.UIDNext && int64(st.Messages) == p.Live &&
		st.HighestModSeq != 0 && st.HighestModSeq == p.Mailbox.HighestModSeq
}

// hasBodies tells whether syncing a folder may download bodies: always
// without its status; otherwise when it is a new identity with messages,
// or has UIDs past the stored UIDNEXT.
func hasBodies(f imapconn.Folder, p catalog.LiveFolder, known bool) bool {
	st := f.Status
	switch {
	case st == nil:
		return true
	case !known || p.Mailbox.ID == 0 || st.UIDValidity != p.Mailbox.UIDValidity:
		return st.Messages > 0
	default:
		return st.UIDNext > p.Mailbox.UIDNext
	}
}

// accountChange says why the listed folders are not exactly the live
// folder versions with every selectable one unchanged (step 5), or returns
// "" when they are: the account is unchanged.
func accountChange(listed []imapconn.Folder, live []catalog.LiveFolder, condStore bool) string {
	if len(listed) != len(live) {
		return fmt.Sprintf("%d folders listed, %d in the last snapshot", len(listed), len(live))
	}
	byName := make(map[string]catalog.LiveFolder, len(live))
	for _, l := range live {
		byName[l.Name] = l
	}
	for _, f := range listed {
		p, ok := byName[f.Name]
		switch {
		case !ok:
			return fmt.Sprintf("folder %q is new", f.Name)
		case f.Delimiter != p.Delimiter || f.SpecialUse != p.SpecialUse || f.Subscribed != p.Subscribed ||
			!slices.Equal(f.Attributes, p.Attributes):
			return fmt.Sprintf("folder %q: attributes %q %q subscribed %v, were %q %q %v", f.Name, f.Attributes,
				f.SpecialUse, f.Subscribed, p.Attributes, p.SpecialUse, p.Subscribed)
		case f.Selectable && !unchangedFolder(f, p, condStore):
			return fmt.Sprintf("folder %q changed (status %+v)", f.Name, f.Status)
		case !f.Selectable && p.Mailbox.ID != 0:
			return fmt.Sprintf("folder %q is no longer selectable", f.Name)
		}
	}
	return ""
}

// syncFolders shares the folders to examine among the connections and
// returns, per synced folder, its mailbox identity. Vanished folders are
// left out.
func (a *accountSync) syncFolders(ctx context.Context, conns []*imapconn.Conn, folders []imapconn.Folder,
	prev map[string]catalog.LiveFolder) (map[string]int64, error) {
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
				p := prev[f.Name]
				fs := &folderSync{a: a, cn: cn, folder: f, prev: p.Mailbox, prevLive: p.Live}
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

// connPool is an account's connections: the first, which listed the
// folders, and those opened when there are bodies to download.
type connPool struct {
	e       *Engine
	address string
	conns   []*imapconn.Conn
}

func (p *connPool) first() *imapconn.Conn { return p.conns[0] }

// grow opens connections until there are n.
// An account's further connections never wait for a slot of the cluster's
// (imapconn.DialMore): without one it goes on with those it has.
func (p *connPool) grow(ctx context.Context, n int) error {
	for len(p.conns) < n {
		c, err := p.e.dialMore(ctx, p.address)
		if errors.Is(err, imapconn.ErrNoSlot) {
			return nil
		}
		if err != nil {
			return err
		}
		p.conns = append(p.conns, c)
	}
	return nil
}

func (p *connPool) close() { imapconn.CloseAll(p.conns) }

// dial opens one connection logged in as address.
func (e *Engine) dial(ctx context.Context, address string) (*imapconn.Conn, error) {
	if e.beforeDial != nil {
		e.beforeDial()
	}
	return imapconn.Dial(ctx, e.server, address)
}

// dialMore opens a further connection of an account (imapconn.DialMore).
func (e *Engine) dialMore(ctx context.Context, address string) (*imapconn.Conn, error) {
	if e.beforeDial != nil {
		e.beforeDial()
	}
	return imapconn.DialMore(ctx, e.server, address)
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

package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/imapconn"
)

// errVanished: the folder was listed but is gone when examined.
var errVanished = errors.New("folder vanished during the run")

// folderSync syncs one folder of one account over one connection into the
// run's staging (design.md, "IMAP sync algorithm").
type folderSync struct {
	a        *accountSync
	cn       *imapconn.Conn
	folder   imapconn.Folder
	prev     catalog.Mailbox // identity of the current folder version; ID 0 if none
	prevLive int64           // its live messages
	mb       catalog.Mailbox // identity examined now
	last     time.Time       // last flush

	mu       sync.Mutex // guards batch and storeErr while stores are in flight
	batch    catalog.Batch
	storeErr error          // the first failed store
	inflight sync.WaitGroup // stores of bodies read whole

	queue      []wholeMessage // bodies read whole, not yet handed to a worker
	queueBytes int
	flushing   chan error // the flush behind the connection (flushBehind); nil if none
}

// wholeMessage is a message whose body was read whole, waiting to be stored
// with others.
type wholeMessage struct {
	uid      uint32
	flags    []string
	internal time.Time
	body     []byte
}

// run syncs the folder and returns the mailbox identity it examined. When
// it fails, nothing of the folder's is still being stored or flushed when
// it returns.
func (f *folderSync) run(ctx context.Context) (int64, error) {
	id, err := f.sync(ctx)
	if err != nil {
		_ = f.abandon() // its errors come after err, and from it
	}
	return id, err
}

func (f *folderSync) sync(ctx context.Context) (int64, error) {
	if hook := f.a.e.beforeExamine; hook != nil {
		hook(f.folder.Name)
	}
	sel, err := f.cn.C.Select(f.folder.Name, &imap.SelectOptions{ReadOnly: true, CondStore: f.cn.CondStore}).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && f.gone() {
			return 0, errVanished
		}
		return 0, fmt.Errorf("examine: %w", err)
	}
	if f.mb, err = f.a.run.Mailbox(ctx, f.folder.Name, sel.UIDValidity); err != nil {
		return 0, err
	}
	f.last = f.a.clk.Now()
	lastUID := uint32(0)
	if f.mb.ID == f.prev.ID {
		done, err := f.syncKnown(ctx, sel)
		if err != nil || done {
			return f.mb.ID, err
		}
		lastUID = f.prev.LastUID
	}
	// A new identity (new folder, or UIDVALIDITY changed) is fetched whole:
	// the commit ends every live version of the previous identity.
	maxUID, err := f.fetchNew(ctx, lastUID, uint32(sel.UIDNext))
	if err != nil {
		return 0, err
	}
	state := catalog.Mailbox{ID: f.mb.ID, LastUID: max(lastUID, maxUID), UIDNext: uint32(sel.UIDNext), HighestModSeq: sel.HighestModSeq}
	if sel.UIDNext > 0 {
		state.LastUID = max(state.LastUID, uint32(sel.UIDNext)-1)
	}
	f.batch.SetState(state)
	return f.mb.ID, f.flush(ctx)
}

// gone tells whether the folder no longer exists. Servers do not agree on
// a response code for a missing mailbox (Dovecot 2.3 sends none), so ask.
func (f *folderSync) gone() bool {
	list, err := f.cn.C.List("", f.folder.Name, nil).Collect()
	return err == nil && len(list) == 0
}

// syncKnown handles a folder whose identity was synced before: the cheap
// unchanged check, expunges and flag changes. done means nothing is new.
func (f *folderSync) syncKnown(ctx context.Context, sel *imap.SelectData) (done bool, err error) {
	live := f.prevLive
	if f.cn.CondStore && sel.HighestModSeq != 0 && sel.HighestModSeq == f.prev.HighestModSeq &&
		uint32(sel.UIDNext) == f.prev.UIDNext && int64(sel.NumMessages) == live {
		f.a.add(0, live, 0)
		return true, nil // unchanged: one EXAMINE was enough
	}
	if f.prev.LastUID == 0 {
		return false, nil
	}
	old := imap.UIDSet{}
	old.AddRange(1, imap.UID(f.prev.LastUID))
	present, err := f.presentUIDs(old)
	if err != nil {
		return false, err
	}
	if err := f.endExpunged(ctx, present); err != nil {
		return false, err
	}
	return false, f.syncFlags(ctx, old, present)
}

// presentUIDs returns which of the UIDs in set still exist.
func (f *folderSync) presentUIDs(set imap.UIDSet) (imap.UIDSet, error) {
	var opts *imap.SearchOptions
	if f.cn.ESearch {
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	data, err := f.cn.C.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, opts).Wait()
	if err != nil {
		return nil, fmt.Errorf("uid search: %w", err)
	}
	uids, _ := data.All.(imap.UIDSet)
	return uids, nil
}

// endExpunged ends the live versions whose UID is no longer present.
func (f *folderSync) endExpunged(ctx context.Context, present imap.UIDSet) error {
	var gone []int64
	err := f.a.run.LiveEntries(ctx, f.prev.ID, 1, f.prev.LastUID, func(e catalog.LiveEntry) error {
		if !present.Contains(imap.UID(e.UID)) {
			gone = append(gone, e.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range gone {
		f.batch.End(id)
	}
	return f.maybeFlush(ctx)
}

// syncFlags gives a new version to every present message whose flags
// changed: those changed since the last HIGHESTMODSEQ with CONDSTORE,
// otherwise found by comparing a full UID FLAGS listing.
func (f *folderSync) syncFlags(ctx context.Context, old, present imap.UIDSet) error {
	opts := &imap.FetchOptions{UID: true, Flags: true}
	if f.cn.CondStore && f.prev.HighestModSeq != 0 {
		opts.ChangedSince = f.prev.HighestModSeq
	}
	cmd := f.cn.C.Fetch(old, opts)
	changed := make(map[uint32]string)
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		buf, err := msg.Collect()
		if err != nil {
			return errors.Join(fmt.Errorf("fetch flags: %w", err), cmd.Close())
		}
		if buf.UID != 0 && present.Contains(buf.UID) {
			changed[uint32(buf.UID)] = catalog.JoinFlags(flagStrings(buf.Flags))
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("fetch flags: %w", err)
	}
	// Compare in UID order against the live versions, streaming.
	return f.a.run.LiveEntries(ctx, f.prev.ID, 1, f.prev.LastUID, func(e catalog.LiveEntry) error {
		flags, ok := changed[e.UID]
		if !ok || flags == e.Flags {
			return nil
		}
		f.batch.End(e.ID)
		f.batch.AddVersion(f.prev.ID, e.UID, e.ContentID, catalog.SplitFlags(flags), e.InternalDate)
		return nil
	})
}

// fetchNew stores the messages with UID in (after, uidNext) — all of them
// when uidNext is unknown — and returns the highest UID seen.
func (f *folderSync) fetchNew(ctx context.Context, after, uidNext uint32) (uint32, error) {
	if uidNext != 0 && uidNext <= after+1 {
		return 0, nil
	}
	want := imap.UIDSet{}
	if uidNext != 0 {
		want.AddRange(imap.UID(after+1), imap.UID(uidNext-1))
	} else {
		want.AddRange(imap.UID(after+1), 0) // after+1:*
	}
	resumed, err := f.resume(ctx, want, after)
	if err != nil {
		return 0, err
	}
	bodies := subtract(want, resumed)
	if len(bodies) == 0 {
		return slices.Max(append(resumed, after)), nil
	}
	return f.fetchBodies(ctx, bodies, after, slices.Max(append(resumed, after)))
}

// resume stages the messages of want that a failed run already stored, and
// returns their UIDs, sorted.
func (f *folderSync) resume(ctx context.Context, want imap.UIDSet, after uint32) ([]uint32, error) {
	known, err := f.a.run.Resumables(ctx, f.mb.ID)
	if err != nil || len(known) == 0 {
		return nil, err
	}
	set := imap.UIDSet{}
	for uid := range known {
		if uid > after && want.Contains(imap.UID(uid)) {
			set.AddNum(imap.UID(uid))
		}
	}
	if len(set) == 0 {
		return nil, nil
	}
	cmd := f.cn.C.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true})
	var uids []uint32
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		buf, err := msg.Collect()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("fetch: %w", err), cmd.Close())
		}
		k, ok := known[uint32(buf.UID)]
		if !ok {
			continue
		}
		if has, err := f.a.blobs.Has(ctx, blobstore.Hash(k.Hash)); err != nil || !has {
			continue // not durable after all: download it again
		}
		f.batch.AddVersion(f.mb.ID, uint32(buf.UID), k.ContentID, flagStrings(buf.Flags), buf.InternalDate)
		uids = append(uids, uint32(buf.UID))
		f.a.add(0, 1, 0)
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	slices.Sort(uids)
	return uids, f.maybeFlush(ctx)
}

// subtract returns want without the sorted UIDs in skip.
func subtract(want imap.UIDSet, skip []uint32) imap.UIDSet {
	if len(skip) == 0 {
		return want
	}
	out := imap.UIDSet{}
	for _, r := range want {
		start := r.Start
		for _, u := range skip {
			uid := imap.UID(u)
			if uid < start || (r.Stop != 0 && uid > r.Stop) {
				continue
			}
			if uid > start {
				out.AddRange(start, uid-1)
			}
			start = uid + 1
		}
		if r.Stop == 0 || start <= r.Stop {
			out.AddRange(start, r.Stop)
		}
	}
	return out
}

// fetchBodies streams the messages of set into the blob store and stages
// them. UIDs <= after are ignored (a UID range n:* always answers at least
// the last message).
func (f *folderSync) fetchBodies(ctx context.Context, set imap.UIDSet, after, maxUID uint32) (uint32, error) {
	cmd := f.cn.C.Fetch(set, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		uid, err := f.storeMessage(ctx, msg, after)
		if err != nil {
			return 0, errors.Join(err, cmd.Close(), f.abandon())
		}
		maxUID = max(maxUID, uid)
		if err := f.maybeFlush(ctx); err != nil {
			return 0, errors.Join(err, cmd.Close(), f.abandon())
		}
	}
	if err := cmd.Close(); err != nil {
		return 0, errors.Join(fmt.Errorf("fetch: %w", err), f.abandon())
	}
	if err := f.dispatch(ctx); err != nil {
		return 0, errors.Join(err, f.abandon())
	}
	return maxUID, f.drain()
}

// storeMessage reads one FETCH response and stages it. A body of up to
// wholeBody bytes is read whole, queued, and stored with the others of its
// batch by a worker while the connection reads on (bounded by the
// engine's CPU slots); a larger one is streamed into the blob store here.
func (f *folderSync) storeMessage(ctx context.Context, msg *imapclient.FetchMessageData, after uint32) (uint32, error) {
	var uid uint32
	var flags []string
	var internal time.Time
	var content *catalog.Content
	var whole []byte
	for {
		item := msg.Next()
		if item == nil {
			break
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = uint32(it.UID)
		case imapclient.FetchItemDataFlags:
			flags = flagStrings(it.Flags)
		case imapclient.FetchItemDataInternalDate:
			internal = it.Time
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			if size := it.Literal.Size(); size <= wholeBody {
				whole = f.a.e.bodyBuf(int(size))
				if _, err := io.ReadFull(it.Literal, whole); err != nil {
					f.a.e.freeBodyBuf(whole)
					return 0, fmt.Errorf("uid %d: reading the message: %w", uid, err)
				}
				continue
			}
			c, err := f.a.storeBody(ctx, it.Literal)
			if err != nil {
				return 0, fmt.Errorf("uid %d: %w", uid, err)
			}
			content = &c
		}
	}
	if uid == 0 || uid <= after {
		f.a.e.freeBodyBuf(whole)
		return 0, nil
	}
	if whole != nil {
		return uid, f.enqueue(ctx, wholeMessage{uid: uid, flags: flags, internal: internal, body: whole})
	}
	if content == nil {
		// The message went away between the listing and the fetch.
		return uid, nil
	}
	f.mu.Lock()
	f.batch.AddMessage(f.mb.ID, uid, flags, internal, *content)
	f.mu.Unlock()
	return uid, nil
}

// wholeBody is the largest body read whole and stored by a worker: the
// blob store packs blobs up to this size, in memory anyway.
const wholeBody = blobstore.PackMaxBlob

// A worker stores the bodies read whole in batches of up to batchMessages
// messages or batchBytes bytes: the blob store looks a batch up in one
// query, and one goroutine stores a batch (a goroutine per message spent
// 9% of a first snapshot's CPU growing its stack).
const (
	batchMessages = 32
	batchBytes    = 1 << 20
)

// enqueue queues a message read whole, and hands the queue to a worker
// when it is full.
func (f *folderSync) enqueue(ctx context.Context, m wholeMessage) error {
	f.queue = append(f.queue, m)
	f.queueBytes += len(m.body)
	if len(f.queue) >= batchMessages || f.queueBytes >= batchBytes {
		return f.dispatch(ctx)
	}
	return nil
}

// dispatch hands the queued messages to a worker, after waiting for a free
// CPU slot of the engine; the worker stores them and stages them when
// they are stored.
func (f *folderSync) dispatch(ctx context.Context) error {
	q := f.queue
	if len(q) == 0 {
		return nil
	}
	f.queue, f.queueBytes = nil, 0
	select {
	case f.a.e.cpu <- struct{}{}:
	case <-ctx.Done():
		f.a.e.freeBodies(q)
		return ctx.Err()
	}
	f.inflight.Add(1)
	go func() {
		defer f.inflight.Done()
		bodies := make([][]byte, len(q))
		for i, m := range q {
			bodies[i] = m.body
		}
		contents, err := f.a.storeBodies(ctx, bodies)
		f.a.e.freeBodies(q)
		<-f.a.e.cpu
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case err != nil && f.storeErr == nil:
			f.storeErr = fmt.Errorf("uids %d to %d: %w", q[0].uid, q[len(q)-1].uid, err)
		case err == nil:
			for i, m := range q {
				f.batch.AddMessage(f.mb.ID, m.uid, m.flags, m.internal, contents[i])
			}
		}
	}()
	return nil
}

// freeBodies gives the bodies of queued messages back.
func (e *Engine) freeBodies(q []wholeMessage) {
	for _, m := range q {
		e.freeBodyBuf(m.body)
	}
}

// bodyBuf returns a buffer of n bytes for a body read whole.
func (e *Engine) bodyBuf(n int) []byte {
	if b, ok := e.bodies.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n, max(n, 64<<10))
}

// freeBodyBuf gives a body's buffer back; nil is ignored.
func (e *Engine) freeBodyBuf(b []byte) {
	if b != nil {
		e.bodies.Put(&b)
	}
}

// abandon drops the messages not yet handed to a worker and drains: the
// fetch failed.
func (f *folderSync) abandon() error {
	f.a.e.freeBodies(f.queue)
	f.queue, f.queueBytes = nil, 0
	return f.drain()
}

// drain waits for the stores in flight and the flush behind, and returns
// the first error of either.
func (f *folderSync) drain() error {
	f.inflight.Wait()
	ferr := f.waitFlush()
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.storeErr, ferr)
}

const (
	flushItems = 500
	flushEvery = 2 * time.Second
)

// maybeFlush writes what is staged, behind the connection, when there is
// enough of it or it waited long enough.
func (f *folderSync) maybeFlush(ctx context.Context) error {
	f.mu.Lock()
	n := f.batch.Len()
	f.mu.Unlock()
	if n >= flushItems || (n > 0 && f.a.clk.Now().Sub(f.last) >= flushEvery) {
		return f.flushBehind(ctx)
	}
	return nil
}

// flushBehind hands what is staged so far to a goroutine that writes it
// (write), and returns at once: the connection reads on, and the workers
// store on into a new batch, while the blob store syncs and the catalog
// commits. One flush behind at a time: it first waits for the last one
// and returns its error. Every message in the batch handed over is stored
// already, since a worker stages a message only after storing it.
func (f *folderSync) flushBehind(ctx context.Context) error {
	if err := f.waitFlush(); err != nil {
		return err
	}
	f.mu.Lock()
	err := f.storeErr
	b := f.batch
	f.batch = catalog.Batch{}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	f.last = f.a.clk.Now()
	if b.Len() == 0 {
		return nil
	}
	done := make(chan error, 1)
	f.flushing = done
	go func() { done <- f.write(ctx, &b) }()
	return nil
}

// waitFlush waits for the flush behind, if any, and returns its error.
func (f *folderSync) waitFlush() error {
	if f.flushing == nil {
		return nil
	}
	err := <-f.flushing
	f.flushing = nil
	return err
}

// flush writes the staged batch, after the stores in flight and the flush
// behind: every blob it names is stored, then made durable, before the
// catalog names it.
func (f *folderSync) flush(ctx context.Context) error {
	if err := f.drain(); err != nil {
		return err
	}
	f.last = f.a.clk.Now()
	return f.write(ctx, &f.batch)
}

// write makes the blobs stored so far durable, then stages b.
func (f *folderSync) write(ctx context.Context, b *catalog.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	// Blobs before references (docs/design.md, invariant 1).
	if err := f.a.blobs.Sync(ctx); err != nil {
		return err
	}
	return f.a.run.Flush(ctx, b)
}

func flagStrings(flags []imap.Flag) []string {
	out := make([]string, len(flags))
	for i, fl := range flags {
		out[i] = string(fl)
	}
	return out
}

var _ io.Reader = imap.LiteralReader(nil)

package blobstore

import (
	"bytes"
	"context"
	"io"
	"sync"

	"golang.org/x/sync/semaphore"
)

// AheadMaxBlob is the most of one blob an Ahead holds; a larger blob is
// not read ahead, and its reader opens it in its turn.
const AheadMaxBlob = 1 << 20

// Opener opens blobs; every Store is one.
type Opener interface {
	Open(ctx context.Context, h Hash) (io.ReadCloser, error)
}

// ReadsAhead is how many reads a reader of many of store's blobs in turn
// should keep under way: the store's own ReadsAhead (S3, whose every read
// waits for a round trip), 0 for a store without it.
func ReadsAhead(store any) int {
	if r, ok := store.(interface{ ReadsAhead() int }); ok {
		return r.ReadsAhead()
	}
	return 0
}

// AheadBlob is one blob of an Ahead's list: its hash and the bytes it
// will hold read (the blob's size, or at most what AheadOptions.Read
// keeps of it).
type AheadBlob struct {
	Hash Hash
	Size int64
}

// AheadOptions configure an Ahead.
type AheadOptions struct {
	// Window is how many reads are kept under way beyond the blob being
	// taken; zero means the store's ReadsAhead, and none for a store
	// without it (the local store's reads do not wait).
	Window int
	// Memory bounds the bytes held read ahead, shared by every Ahead
	// given the same one (the IMAP server's connections); nil means a
	// bound of this Ahead's own, Window × AheadMaxBlob.
	Memory *semaphore.Weighted
	// Read reads what is kept of a blob; nil means the whole blob, which
	// must be AheadBlob.Size bytes.
	Read func(r io.Reader) ([]byte, error)
}

// Ahead reads the blobs of a list ahead of a reader that takes them in
// turn, from a store whose every read waits for a round trip (the IMAP
// server answering a FETCH, a restore appending a folder): up to Window
// reads under way beyond the one taken, as long as Memory allows. A read
// that fails is dropped: Take then gives nil and the reader opens the
// blob itself (or Open does), where its error is handled as any other.
// The zero Ahead (nil) reads nothing ahead.
//
// Take, Release and Stop are called by one goroutine, the reader.
type Ahead struct {
	ctx    context.Context
	cancel context.CancelFunc
	store  Opener
	blobs  []AheadBlob
	opts   AheadOptions
	reads  []*aheadRead // nil: not read ahead
	next   int          // the first blob not yet considered
	wg     sync.WaitGroup
}

type aheadRead struct {
	done chan struct{}
	size int64  // held from Memory until released
	body []byte // nil: the read failed
}

// NewAhead returns an Ahead over blobs, or nil when the store wants no
// reads ahead or there is nothing to read ahead of.
func NewAhead(ctx context.Context, store Opener, blobs []AheadBlob, o AheadOptions) *Ahead {
	if o.Window <= 0 {
		o.Window = ReadsAhead(store)
	}
	if o.Window <= 0 || len(blobs) < 2 {
		return nil
	}
	if o.Memory == nil {
		o.Memory = semaphore.NewWeighted(int64(o.Window) * AheadMaxBlob)
	}
	ctx, cancel := context.WithCancel(ctx)
	return &Ahead{ctx: ctx, cancel: cancel, store: store, blobs: blobs, opts: o, reads: make([]*aheadRead, len(blobs))}
}

// Take returns what was read ahead of blob i, nil when it was not, after
// starting the reads of the blobs after it.
func (a *Ahead) Take(i int) []byte {
	if a == nil {
		return nil
	}
	a.next = max(a.next, i+1) // blob i itself, if not under way, is read by the caller
	for a.next < len(a.blobs) && a.next <= i+a.opts.Window {
		if b := a.blobs[a.next]; b.Size <= AheadMaxBlob {
			if !a.opts.Memory.TryAcquire(b.Size) {
				break // the memory is taken: read on without
			}
			a.start(a.next, b)
		}
		a.next++
	}
	r := a.reads[i]
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return r.body
	case <-a.ctx.Done():
		return nil
	}
}

func (a *Ahead) start(i int, b AheadBlob) {
	r := &aheadRead{done: make(chan struct{}), size: b.Size}
	a.reads[i] = r
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(r.done)
		rc, err := a.store.Open(a.ctx, b.Hash)
		if err != nil {
			return
		}
		defer func() { _ = rc.Close() }()
		if a.opts.Read != nil {
			if body, err := a.opts.Read(rc); err == nil {
				r.body = body
			}
			return
		}
		buf := bytes.NewBuffer(make([]byte, 0, b.Size+bytes.MinRead))
		if _, err := buf.ReadFrom(io.LimitReader(rc, AheadMaxBlob+1)); err != nil || int64(buf.Len()) != b.Size {
			return
		}
		r.body = buf.Bytes()
	}()
}

// Open returns a reader of blob i (hash h): what was read ahead of it
// (Take), or, when nothing was (a nil Ahead included), the blob opened
// from store now.
func (a *Ahead) Open(ctx context.Context, store Opener, i int, h Hash) (io.ReadCloser, error) {
	if b := a.Take(i); b != nil {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	return store.Open(ctx, h)
}

// Release gives blob i's memory back once the reader is done with it.
func (a *Ahead) Release(i int) {
	if a == nil || a.reads[i] == nil {
		return
	}
	r := a.reads[i]
	a.reads[i] = nil
	<-r.done
	a.opts.Memory.Release(r.size)
}

// Stop ends the reads still under way and gives their memory back.
func (a *Ahead) Stop() {
	if a == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
	for i := range a.reads {
		a.Release(i)
	}
}

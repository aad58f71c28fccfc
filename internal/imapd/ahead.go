package imapd

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/sync/semaphore"
)

// aheadReader is a blob store whose every read waits for a round trip
// (blobstore.S3: one ranged GET per message): a FETCH of many messages
// keeps ReadsAhead reads under way while it sends, instead of waiting for
// each in turn. A store without it (the local one) is read in turn.
type aheadReader interface {
	ReadsAhead() int
}

// maxAhead is the largest message read ahead; a larger one is read when
// its turn comes, as it streams.
const maxAhead = 1 << 20

// defaultAheadMemory bounds the bytes all the sessions of a server hold
// read ahead (Options.AheadMemory).
const defaultAheadMemory = 64 << 20

// fetchItem is one message a FETCH answers.
type fetchItem struct {
	seq uint32
	m   *message
}

// ahead reads the messages of one FETCH ahead of the one being sent: up
// to window reads under way beyond it, each message of at most maxAhead
// bytes (any message's header, for a FETCH of headers), as long as the
// server's memory for them (mem) allows. A read
// that fails is dropped: the message is then read when it is sent, where
// the error is answered as any other.
type ahead struct {
	s *session
	// headOnly: the FETCH reads no more than the messages' headers
	// (ENVELOPE, BODY[HEADER...], as a client's message list asks), so
	// only those are read ahead.
	headOnly bool
	items    []fetchItem
	reads    []*aheadRead // nil: not read ahead
	next     int          // the first item not yet considered
	window   int
	mem      *semaphore.Weighted
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

type aheadRead struct {
	done chan struct{}
	size int64  // held from mem until released
	body []byte // nil: the read failed
}

// newAhead returns the read-ahead of a FETCH of items, or nil when the
// blob store does not want one or the FETCH reads no message.
func (s *session) newAhead(items []fetchItem, options *imap.FetchOptions) *ahead {
	ar, ok := s.srv.o.Blobs.(aheadReader)
	if !ok || ar.ReadsAhead() <= 0 || len(items) < 2 || !readsBlobs(options) {
		return nil
	}
	ctx, cancel := context.WithCancel(s.ctx)
	return &ahead{s: s, headOnly: !readsBodies(options), items: items, reads: make([]*aheadRead, len(items)),
		window: ar.ReadsAhead(), mem: s.srv.aheadMem, ctx: ctx, cancel: cancel}
}

// readsBlobs: the FETCH needs the messages' bytes, not only the catalog's.
func readsBlobs(o *imap.FetchOptions) bool {
	return o.Envelope || o.BodyStructure != nil || len(o.BodySection) > 0 || len(o.BinarySection) > 0 ||
		len(o.BinarySectionSize) > 0
}

// readsBodies: the FETCH needs more of the messages than their headers.
func readsBodies(o *imap.FetchOptions) bool {
	if o.BodyStructure != nil || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0 {
		return true
	}
	for _, bs := range o.BodySection {
		if !headerOnly(bs) {
			return true
		}
	}
	return false
}

// take returns item i's bytes (its header alone when headOnly) when they
// were read ahead, nil otherwise, after starting the reads of the items
// after it.
func (a *ahead) take(i int) []byte {
	if a == nil {
		return nil
	}
	a.next = max(a.next, i+1) // item i itself, if not under way, is read when sent
	for a.next < len(a.items) && a.next <= i+a.window {
		m := a.items[a.next].m
		need := m.size
		if a.headOnly {
			need = min(need, maxHead)
		}
		if need <= maxAhead {
			if !a.mem.TryAcquire(need) {
				break // the memory is taken: read on without
			}
			a.start(a.next, m, need)
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

func (a *ahead) start(i int, m *message, need int64) {
	r := &aheadRead{done: make(chan struct{}), size: need}
	a.reads[i] = r
	lookedUp := a.s.sel.lookedUp
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(r.done)
		if lookedUp != nil {
			select {
			case <-lookedUp:
			case <-a.ctx.Done():
				return
			}
		}
		rc, err := a.s.srv.o.Blobs.Open(a.ctx, m.hash)
		if err != nil {
			return
		}
		defer func() { _ = rc.Close() }()
		if a.headOnly {
			if head, err := readHead(io.LimitReader(rc, maxHead)); err == nil {
				r.body = head
			}
			return
		}
		buf := bytes.NewBuffer(make([]byte, 0, m.size+bytes.MinRead))
		if _, err := buf.ReadFrom(io.LimitReader(rc, maxAhead+1)); err != nil || int64(buf.Len()) != m.size {
			return
		}
		r.body = buf.Bytes()
	}()
}

// release gives item i's memory back once it is sent.
func (a *ahead) release(i int) {
	if a == nil || a.reads[i] == nil {
		return
	}
	r := a.reads[i]
	a.reads[i] = nil
	<-r.done
	a.mem.Release(r.size)
}

// stop ends the reads still under way and gives their memory back.
func (a *ahead) stop() {
	if a == nil {
		return
	}
	a.cancel()
	a.wg.Wait()
	for i := range a.reads {
		a.release(i)
	}
}

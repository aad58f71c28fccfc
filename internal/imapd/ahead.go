package imapd

import (
	"context"
	"io"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/blobstore"
)

// defaultAheadMemory bounds the bytes all the sessions of a server hold
// read ahead (Options.AheadMemory).
const defaultAheadMemory = 64 << 20

// fetchItem is one message a FETCH answers.
type fetchItem struct {
	seq uint32
	m   *message
}

// newAhead returns the read-ahead of a FETCH of items, or nil when the
// blob store does not want one (blobstore.ReadsAhead: S3, whose every read
// waits for a round trip, does; the local store is read in turn) or the
// FETCH reads no message. A FETCH of
// headers only (ENVELOPE, BODY[HEADER...], as a client's message list
// asks) reads only the headers ahead, of any message; otherwise messages
// of up to blobstore.AheadMaxBlob bytes are read whole.
func (s *session) newAhead(items []fetchItem, options *imap.FetchOptions) *blobstore.Ahead {
	window := blobstore.ReadsAhead(s.srv.o.Blobs)
	if window <= 0 || !readsBlobs(options) {
		return nil
	}
	headOnly := !readsBodies(options)
	blobs := make([]blobstore.AheadBlob, len(items))
	for i, it := range items {
		blobs[i] = blobstore.AheadBlob{Hash: it.m.hash, Size: it.m.size}
		if headOnly {
			blobs[i].Size = min(it.m.size, maxHead)
		}
	}
	o := blobstore.AheadOptions{Window: window, Memory: s.srv.aheadMem}
	if headOnly {
		o.Read = func(r io.Reader) ([]byte, error) { return readHead(io.LimitReader(r, maxHead)) }
	}
	return blobstore.NewAhead(s.ctx, lookedUpFirst{s}, blobs, o)
}

// lookedUpFirst opens blobs once the selected folder's look-up ahead
// (Prefetch) is done.
type lookedUpFirst struct{ s *session }

func (l lookedUpFirst) Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error) {
	if done := l.s.sel.lookedUp; done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return l.s.srv.o.Blobs.Open(ctx, h)
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

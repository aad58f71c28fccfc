package blobstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"mtm/internal/blobstore"
	"mtm/internal/testenv/slowblobs"
)

// memBlobs serves blobs from memory.
type memBlobs map[blobstore.Hash][]byte

func (m memBlobs) Open(_ context.Context, h blobstore.Hash) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m[h])), nil
}

// TestAhead: blobs are read ahead up to the store's ReadsAhead beyond the
// one taken, each given whole; a failed read, a blob over AheadMaxBlob
// and the blob taken first give nil (the reader opens them); Stop gives
// all the memory back; with no memory to spare nothing is read ahead; a
// store without ReadsAhead gets no Ahead.
func TestAhead(t *testing.T) {
	mem := memBlobs{}
	st := &slowblobs.Store{Opener: mem, Ahead: 3, Delay: 10 * time.Millisecond}
	var list []blobstore.AheadBlob
	for i := range 20 {
		b := []byte(fmt.Sprintf("blob %d", i))
		if i == 5 {
			b = bytes.Repeat([]byte("z"), blobstore.AheadMaxBlob+1)
		}
		h := blobstore.Hash(sha256.Sum256(b))
		mem[h] = b
		if i == 9 {
			st.FailOnce(h)
		}
		list = append(list, blobstore.AheadBlob{Hash: h, Size: int64(len(b))})
	}
	memory := semaphore.NewWeighted(1 << 30)
	a := blobstore.NewAhead(context.Background(), st, list, blobstore.AheadOptions{Memory: memory})
	for i, b := range list {
		got := a.Take(i)
		switch {
		case i == 0 || i == 5 || i == 9:
			if got != nil {
				t.Errorf("blob %d: %d bytes read ahead, want none", i, len(got))
			}
		case !bytes.Equal(got, mem[b.Hash]):
			t.Errorf("blob %d: %q read ahead", i, got)
		}
		a.Release(i)
	}
	a.Stop()
	if c := st.Reset(); c.Most < 2 || c.Most > 4 || c.Failed != 1 {
		t.Errorf("%d reads under way at once, %d failed; want 2 to 4 (the one taken and 3 beyond it) and 1", c.Most, c.Failed)
	}
	if !memory.TryAcquire(1 << 30) {
		t.Error("the memory read ahead was not all given back")
	}

	// Stopped half-way: the reads under way end and give their memory back.
	memory = semaphore.NewWeighted(1 << 30)
	a = blobstore.NewAhead(context.Background(), st, list, blobstore.AheadOptions{Memory: memory})
	a.Take(0)
	a.Stop()
	if !memory.TryAcquire(1 << 30) {
		t.Error("stopped half-way, the memory read ahead was not all given back")
	}

	st.Reset()
	a = blobstore.NewAhead(context.Background(), st, list, blobstore.AheadOptions{Memory: semaphore.NewWeighted(1)})
	for i := range list {
		if got := a.Take(i); got != nil {
			t.Errorf("without memory, blob %d was read ahead", i)
		}
		a.Release(i)
	}
	a.Stop()
	if c := st.Reset(); c.Opens != 0 {
		t.Errorf("without memory, %d reads", c.Opens)
	}

	local := struct{ blobstore.Opener }{mem} // no ReadsAhead
	if a := blobstore.NewAhead(context.Background(), local, list, blobstore.AheadOptions{}); a != nil {
		t.Error("an Ahead for a store whose reads do not wait")
	}
}

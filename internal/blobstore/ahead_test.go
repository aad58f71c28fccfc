package blobstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"mtm/internal/blobstore"
)

// slowStore serves blobs from memory after a round trip, asks for reads
// ahead, counts the reads under way at once, and fails the blobs in fail.
type slowStore struct {
	blobs map[blobstore.Hash][]byte
	fail  map[blobstore.Hash]bool

	mu         sync.Mutex
	open, most int
}

func (s *slowStore) ReadsAhead() int { return 3 }

func (s *slowStore) Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error) {
	s.mu.Lock()
	s.open++
	s.most = max(s.most, s.open)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(10 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.fail[h] {
		return nil, errors.New("503 Slow Down")
	}
	return io.NopCloser(bytes.NewReader(s.blobs[h])), nil
}

// TestAhead: blobs are read ahead up to the store's ReadsAhead beyond the
// one taken, each given whole; a failed read, a blob over AheadMaxBlob
// and the blob taken first give nil (the reader opens them); Stop gives
// all the memory back; with no memory to spare nothing is read ahead; a
// store without ReadsAhead gets no Ahead.
func TestAhead(t *testing.T) {
	st := &slowStore{blobs: map[blobstore.Hash][]byte{}, fail: map[blobstore.Hash]bool{}}
	var list []blobstore.AheadBlob
	for i := range 20 {
		b := []byte(fmt.Sprintf("blob %d", i))
		if i == 5 {
			b = bytes.Repeat([]byte("z"), blobstore.AheadMaxBlob+1)
		}
		h := blobstore.Hash(sha256.Sum256(b))
		st.blobs[h] = b
		st.fail[h] = i == 9
		list = append(list, blobstore.AheadBlob{Hash: h, Size: int64(len(b))})
	}
	mem := semaphore.NewWeighted(1 << 30)
	a := blobstore.NewAhead(context.Background(), st, list, blobstore.AheadOptions{Memory: mem})
	for i, b := range list {
		got := a.Take(i)
		switch {
		case i == 0 || i == 5 || i == 9:
			if got != nil {
				t.Errorf("blob %d: %d bytes read ahead, want none", i, len(got))
			}
		case !bytes.Equal(got, st.blobs[b.Hash]):
			t.Errorf("blob %d: %q read ahead", i, got)
		}
		a.Release(i)
	}
	a.Stop()
	if st.most < 2 || st.most > 4 {
		t.Errorf("%d reads under way at once, want 2 to 4 (the one taken and 3 beyond it)", st.most)
	}
	if !mem.TryAcquire(1 << 30) {
		t.Error("the memory read ahead was not all given back")
	}

	// Stopped half-way: the reads under way end and give their memory back.
	mem = semaphore.NewWeighted(1 << 30)
	a = blobstore.NewAhead(context.Background(), st, list, blobstore.AheadOptions{Memory: mem})
	a.Take(0)
	a.Stop()
	if !mem.TryAcquire(1 << 30) {
		t.Error("stopped half-way, the memory read ahead was not all given back")
	}

	st.most = 0
	a = blobstore.NewAhead(context.Background(), st, list, blobstore.AheadOptions{Memory: semaphore.NewWeighted(1)})
	for i := range list {
		if got := a.Take(i); got != nil {
			t.Errorf("without memory, blob %d was read ahead", i)
		}
		a.Release(i)
	}
	a.Stop()
	if st.most != 0 {
		t.Errorf("without memory, %d reads under way at once", st.most)
	}

	local := struct{ blobstore.Opener }{st} // no ReadsAhead
	if a := blobstore.NewAhead(context.Background(), local, list, blobstore.AheadOptions{}); a != nil {
		t.Error("an Ahead for a store whose reads do not wait")
	}
}

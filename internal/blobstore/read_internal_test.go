package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// TestIndexedLengthTooLong: an index row that claims an entry far longer
// than any frame of a packed blob is not read whole (no allocation of its
// claimed size); the reader returns the blob's exact bytes or ErrCorrupt.
func TestIndexedLengthTooLong(t *testing.T) {
	ctx := context.Background()
	l, err := OpenLocal(filepath.Join(t.TempDir(), "blobs"), LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := bytes.Repeat([]byte("Subject: long claim\r\n\r\nbody line\r\n"), 100)
	info, err := l.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Put(ctx, bytes.NewReader([]byte("Subject: the next entry\r\n\r\nhi\r\n"))); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, length := range []int64{1 << 40, packHeaderLen + maxWholeFrame + 1} {
		if _, err := l.idx.db.ExecContext(ctx, `UPDATE blobs SET length = ? WHERE hash = ?`, length, info.Hash[:]); err != nil {
			t.Fatal(err)
		}
		r, err := l.Open(ctx, info.Hash)
		var got []byte
		if err == nil {
			got, err = io.ReadAll(r)
			_ = r.Close()
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("length %d: read = %v, want the bytes or ErrCorrupt", length, err)
		}
		if err == nil && !bytes.Equal(got, data) {
			t.Fatalf("length %d: read other bytes without an error", length)
		}
	}
}

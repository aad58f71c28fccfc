// Package blobstoretest is the test suite every blobstore.Store back-end must
// pass, and mail-like test data.
//
// A back-end's test calls Run with a function that returns a new, empty store
// for each subtest; that function may register t.Cleanup checks of its own
// (the local back-end checks that no temporary file is left).
package blobstoretest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"mtm/internal/blobstore"
)

// LargeSize is the size of the large stream of the round-trip test.
const LargeSize = 24 << 20

// Run runs the shared suite against stores made by newStore. Each subtest
// gets its own store and runs in parallel with the others.
func Run(t *testing.T, newStore func(t *testing.T) blobstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blobstore.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"LargeStream", testLargeStream},
		{"Dedup", testDedup},
		{"PutAll", testPutAll},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"List", testList},
		{"ListStopsOnError", testListStopsOnError},
		{"ConcurrentSame", testConcurrentSame},
		{"ConcurrentDifferent", testConcurrentDifferent},
		{"ReaderError", testReaderError},
		{"CancelBeforePut", testCancelBeforePut},
		{"CancelDuringPut", testCancelDuringPut},
		{"CancelDuringRead", testCancelDuringRead},
		{"PartialReadThenClose", testPartialRead},
		{"ReadableBeforeSync", testReadableBeforeSync},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// HashOf returns the Hash of b.
func HashOf(b []byte) blobstore.Hash { return blobstore.Hash(sha256.Sum256(b)) }

// Put stores b in s, syncs, and fails the test on error.
func Put(t testing.TB, s blobstore.Store, b []byte) blobstore.Info {
	t.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(b), err)
	}
	Sync(t, s)
	return info
}

// Sync syncs s and fails the test on error.
func Sync(t testing.TB, s blobstore.Store) {
	t.Helper()
	if err := s.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// ReadAll returns the bytes of blob h and fails the test on error.
func ReadAll(t testing.TB, s blobstore.Store, h blobstore.Hash) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), h)
	if err != nil {
		t.Fatalf("Open(%s): %v", h, err)
	}
	b, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading blob %s: %v", h, err)
	}
	return b
}

// ListAll returns the Infos of all blobs in s by hash.
func ListAll(t testing.TB, s blobstore.Store) map[blobstore.Hash]blobstore.Info {
	t.Helper()
	m := map[blobstore.Hash]blobstore.Info{}
	err := s.List(context.Background(), func(i blobstore.Info) error {
		if _, dup := m[i.Hash]; dup {
			return fmt.Errorf("blob %s listed twice", i.Hash)
		}
		m[i.Hash] = i
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return m
}

func testRoundTrip(t *testing.T, s blobstore.Store) {
	binary := make([]byte, 0, 70000)
	for i := range cap(binary) {
		binary = append(binary, byte(i*7+i/256))
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"CRLF text", []byte("Subject: hi\r\n\r\nline one\r\nline two\r\n.\r\n\r\n")},
		{"bare LF and CR", []byte("a\nb\rc\r\n\n\r\r\n")},
		{"binary", binary},
		{"NUL bytes", make([]byte, 100000)},
		{"mail 5 KB", Mail(1, 5000)},
		{"mail 300 KB", Mail(2, 300<<10)},
		{"mail 1 MiB", Mail(3, 1<<20)},
		{"mail 1 MiB + 1", Mail(4, 1<<20+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := Put(t, s, tc.data)
			want := blobstore.Info{Hash: HashOf(tc.data), Size: int64(len(tc.data)), StoredSize: info.StoredSize, Created: true}
			if info != want || info.StoredSize <= 0 {
				t.Fatalf("Put = %+v, want %+v with StoredSize > 0", info, want)
			}
			if got := ReadAll(t, s, info.Hash); !bytes.Equal(got, tc.data) {
				t.Fatalf("Open returned %d bytes that differ from the %d put", len(got), len(tc.data))
			}
			checkStat(t, s, info)
			if ok, err := s.Has(context.Background(), info.Hash); err != nil || !ok {
				t.Fatalf("Has = %v, %v; want true", ok, err)
			}
		})
	}
}

// checkStat checks that Stat agrees with the Info that Put returned.
func checkStat(t *testing.T, s blobstore.Store, want blobstore.Info) {
	t.Helper()
	st, err := s.Stat(context.Background(), want.Hash)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if st.Hash != want.Hash || (st.Size != want.Size && st.Size != -1) || st.StoredSize != want.StoredSize || st.Created {
		t.Fatalf("Stat = %+v, want %+v without Created (Size may be -1)", st, want)
	}
}

func testLargeStream(t *testing.T, s blobstore.Store) {
	want := hashStream(t, NewMailReader(7, LargeSize))
	info, err := s.Put(context.Background(), NewMailReader(7, LargeSize))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info.Hash != want || info.Size != LargeSize || !info.Created {
		t.Fatalf("Put = %+v, want hash %s, size %d, created", info, want, LargeSize)
	}
	r, err := s.Open(context.Background(), info.Hash)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// Compare byte by byte, streaming, so a mismatch names its offset.
	n, err := compareStreams(r, NewMailReader(7, LargeSize))
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	if n != LargeSize {
		t.Fatalf("read back %d bytes, want %d", n, LargeSize)
	}
	checkStat(t, s, info)
}

func hashStream(t *testing.T, r io.Reader) blobstore.Hash {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	var sum blobstore.Hash
	h.Sum(sum[:0])
	return sum
}

// compareStreams reads got and want to EOF and reports the first difference.
func compareStreams(got, want io.Reader) (int64, error) {
	bg, bw := make([]byte, 64<<10), make([]byte, 64<<10)
	var off int64
	for {
		ng, eg := io.ReadFull(got, bg)
		nw, ew := io.ReadFull(want, bw)
		if eg != nil && eg != io.EOF && eg != io.ErrUnexpectedEOF {
			return off, eg
		}
		if ew != nil && ew != io.EOF && ew != io.ErrUnexpectedEOF {
			return off, ew
		}
		if i := firstDiff(bg[:ng], bw[:nw]); i >= 0 {
			return off, fmt.Errorf("streams differ at offset %d", off+int64(i))
		}
		off += int64(ng)
		if ng < len(bg) {
			return off, nil
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func testDedup(t *testing.T, s blobstore.Store) {
	data := Mail(3, 12000)
	first := Put(t, s, data)
	second := Put(t, s, data)
	if !first.Created || second.Created {
		t.Fatalf("Created = %v then %v, want true then false", first.Created, second.Created)
	}
	if first.Hash != second.Hash || first.Size != second.Size || first.StoredSize != second.StoredSize {
		t.Fatalf("second Put = %+v, first %+v", second, first)
	}
	if got := ListAll(t, s); len(got) != 1 {
		t.Fatalf("List has %d blobs, want 1", len(got))
	}
	if got := ReadAll(t, s, first.Hash); !bytes.Equal(got, data) {
		t.Fatal("content changed by the second Put")
	}
}

// testPutAll: a batch stores what is new once, also what it holds twice,
// and reports what was stored already (indexed, or put and not yet synced)
// as Put does, with the sizes the first Put gave; a blob larger than a pack
// entry goes its own way; everything reads back. A cancelled batch stores
// nothing.
func testPutAll(t *testing.T, s blobstore.Store) {
	ctx := context.Background()
	synced, unsynced := Mail(11, 9000), Mail(12, 3000)
	first := Put(t, s, synced)
	pending, err := s.Put(ctx, bytes.NewReader(unsynced))
	if err != nil {
		t.Fatal(err)
	}
	fresh, large := Mail(13, 20000), Mail(14, blobstore.PackMaxBlob+5000)
	batch := [][]byte{fresh, synced, unsynced, fresh, large, {}, large}
	infos, err := s.PutAll(ctx, batch)
	if err != nil {
		t.Fatalf("PutAll: %v", err)
	}
	if len(infos) != len(batch) {
		t.Fatalf("PutAll returned %d infos for %d blobs", len(infos), len(batch))
	}
	wantCreated := []bool{true, false, false, false, true, true, false}
	for i, b := range batch {
		if infos[i].Hash != HashOf(b) || infos[i].Size != int64(len(b)) || infos[i].Created != wantCreated[i] {
			t.Errorf("blob %d: %+v, want hash %s, size %d, created %v", i, infos[i], HashOf(b), len(b), wantCreated[i])
		}
	}
	if infos[1].StoredSize != first.StoredSize || infos[2].StoredSize != pending.StoredSize ||
		infos[3].StoredSize != infos[0].StoredSize || infos[6].StoredSize != infos[4].StoredSize {
		t.Errorf("stored sizes %d %d %d %d, want those of the first copies %d %d %d %d", infos[1].StoredSize,
			infos[2].StoredSize, infos[3].StoredSize, infos[6].StoredSize, first.StoredSize, pending.StoredSize,
			infos[0].StoredSize, infos[4].StoredSize)
	}
	Sync(t, s)
	if got := ListAll(t, s); len(got) != 5 {
		t.Errorf("List has %d blobs, want 5", len(got))
	}
	for i, b := range batch {
		if got := ReadAll(t, s, infos[i].Hash); !bytes.Equal(got, b) {
			t.Errorf("blob %d reads back %d bytes, want %d", i, len(got), len(b))
		}
	}
	if infos, err := s.PutAll(ctx, nil); err != nil || len(infos) != 0 {
		t.Errorf("PutAll of nothing: %v, %v", infos, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.PutAll(cancelled, [][]byte{Mail(15, 4000)}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutAll with a cancelled context: %v", err)
	}
	if ok, err := s.Has(ctx, HashOf(Mail(15, 4000))); err != nil || ok {
		t.Errorf("a cancelled PutAll stored its blob: %v, %v", ok, err)
	}
}

func testNotFound(t *testing.T, s blobstore.Store) {
	Put(t, s, []byte("something else"))
	h := HashOf([]byte("never stored"))
	ctx := context.Background()
	checkNotFound := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("%s: error %v, want ErrNotFound", op, err)
		}
		if !strings.Contains(err.Error(), h.String()) {
			t.Fatalf("%s: error %q does not name the hash", op, err)
		}
	}
	r, err := s.Open(ctx, h)
	if err == nil {
		_ = r.Close()
	}
	checkNotFound("Open", err)
	_, err = s.Stat(ctx, h)
	checkNotFound("Stat", err)
	checkNotFound("Delete", s.Delete(ctx, h))
	if ok, err := s.Has(ctx, h); ok || err != nil {
		t.Fatalf("Has = %v, %v; want false, nil", ok, err)
	}
}

func testDelete(t *testing.T, s blobstore.Store) {
	ctx := context.Background()
	keep := Put(t, s, Mail(4, 3000))
	gone := Put(t, s, Mail(5, 3000))
	if err := s.Delete(ctx, gone.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if ok, err := s.Has(ctx, gone.Hash); ok || err != nil {
		t.Fatalf("Has after Delete = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Open(ctx, gone.Hash); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, gone.Hash); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	if got := ListAll(t, s); len(got) != 1 || got[keep.Hash].Hash != keep.Hash {
		t.Fatalf("List after Delete = %v, want only %s", got, keep.Hash)
	}
	// A deleted blob can be put again.
	if again := Put(t, s, Mail(5, 3000)); !again.Created {
		t.Fatal("Put after Delete: Created false")
	}
}

func testList(t *testing.T, s blobstore.Store) {
	if got := ListAll(t, s); len(got) != 0 {
		t.Fatalf("new store lists %d blobs", len(got))
	}
	want := map[blobstore.Hash]blobstore.Info{}
	for i := range 40 {
		info := Put(t, s, Mail(uint64(100+i), 1000+i*97))
		want[info.Hash] = info
	}
	got := ListAll(t, s)
	if len(got) != len(want) {
		t.Fatalf("List has %d blobs, want %d", len(got), len(want))
	}
	for h, w := range want {
		g, ok := got[h]
		if !ok {
			t.Fatalf("List misses %s", h)
		}
		if (g.Size != w.Size && g.Size != -1) || g.StoredSize != w.StoredSize || g.Created {
			t.Fatalf("List gives %+v, Put gave %+v", g, w)
		}
	}
}

func testListStopsOnError(t *testing.T, s blobstore.Store) {
	for i := range 5 {
		Put(t, s, Mail(uint64(200+i), 500))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(context.Background(), func(blobstore.Info) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("List = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func testConcurrentSame(t *testing.T, s blobstore.Store) {
	data := Mail(6, 200<<10)
	const n = 16
	infos := make([]blobstore.Info, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			infos[i], errs[i] = s.Put(context.Background(), bytes.NewReader(data))
		})
	}
	wg.Wait()
	Sync(t, s)
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if infos[i].Hash != HashOf(data) {
			t.Fatalf("Put %d: hash %s", i, infos[i].Hash)
		}
		if infos[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d Puts report Created, want exactly 1", created)
	}
	if got := ListAll(t, s); len(got) != 1 {
		t.Fatalf("List has %d blobs, want 1", len(got))
	}
	if got := ReadAll(t, s, HashOf(data)); !bytes.Equal(got, data) {
		t.Fatal("content differs after concurrent Puts")
	}
}

func testConcurrentDifferent(t *testing.T, s blobstore.Store) {
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Put(context.Background(), bytes.NewReader(Mail(uint64(300+i), 4000+i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	Sync(t, s)
	got := ListAll(t, s)
	for i := range n {
		data := Mail(uint64(300+i), 4000+i)
		if _, ok := got[HashOf(data)]; !ok {
			t.Fatalf("blob %d missing from List", i)
		}
		if !bytes.Equal(ReadAll(t, s, HashOf(data)), data) {
			t.Fatalf("blob %d differs", i)
		}
	}
	if len(got) != n {
		t.Fatalf("List has %d blobs, want %d", len(got), n)
	}
}

// failingReader returns n bytes of a mail and then err.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func testReaderError(t *testing.T, s blobstore.Store) {
	before := Put(t, s, []byte("already here"))
	boom := errors.New("connection reset by IMAP server")
	_, err := s.Put(context.Background(), &failingReader{r: NewMailReader(8, 1<<20), n: 300 << 10, err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want an error wrapping %v", err, boom)
	}
	Sync(t, s)
	if got := ListAll(t, s); len(got) != 1 || got[before.Hash].Hash != before.Hash {
		t.Fatalf("List after failed Put = %v, want only the earlier blob", got)
	}
	// The same stream, read to its end, is stored normally afterwards.
	info, err := s.Put(context.Background(), NewMailReader(8, 1<<20))
	if err != nil || !info.Created {
		t.Fatalf("Put after failure = %+v, %v", info, err)
	}
}

func testCancelBeforePut(t *testing.T, s blobstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	h := Put(t, s, []byte("stored")).Hash
	if _, err := s.Open(ctx, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open: %v, want context.Canceled", err)
	}
	if _, err := s.Has(ctx, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Has: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(ctx, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stat: %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete: %v, want context.Canceled", err)
	}
	if err := s.List(ctx, func(blobstore.Info) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("List: %v, want context.Canceled", err)
	}
	if got := ListAll(t, s); len(got) != 1 {
		t.Fatalf("List has %d blobs, want 1", len(got))
	}
}

// cancelingReader cancels its context after n bytes and keeps going.
type cancelingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func testCancelDuringPut(t *testing.T, s blobstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelingReader{r: NewMailReader(9, 4<<20), n: 1 << 20, cancel: cancel}
	if _, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	if got := ListAll(t, s); len(got) != 0 {
		t.Fatalf("List after canceled Put has %d blobs, want 0", len(got))
	}
}

func testCancelDuringRead(t *testing.T, s blobstore.Store) {
	info, err := s.Put(context.Background(), NewMailReader(10, 2<<20))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := s.Open(ctx, info.Hash)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("reading after cancel: %v, want context.Canceled", err)
	}
}

func testPartialRead(t *testing.T, s blobstore.Store) {
	data := Mail(11, 1<<20)
	h := Put(t, s, data).Hash
	for range 3 {
		r, err := s.Open(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 100)
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(head, data[:100]) {
			t.Fatal("first bytes differ")
		}
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if got := ReadAll(t, s, h); !bytes.Equal(got, data) {
		t.Fatal("full read after partial reads differs")
	}
}

// testReadableBeforeSync: a blob is readable through the store as soon as
// Put returns, and listed once Sync has made it durable.
func testReadableBeforeSync(t *testing.T, s blobstore.Store) {
	ctx := context.Background()
	data := Mail(11, 7000)
	info, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil || !info.Created {
		t.Fatalf("Put = %+v, %v", info, err)
	}
	if has, err := s.Has(ctx, info.Hash); err != nil || !has {
		t.Fatalf("Has before Sync = %v, %v; want true", has, err)
	}
	if got := ReadAll(t, s, info.Hash); !bytes.Equal(got, data) {
		t.Fatal("Open before Sync returned other bytes")
	}
	again, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil || again.Created {
		t.Fatalf("second Put before Sync = %+v, %v; want Created false", again, err)
	}
	Sync(t, s)
	if got := ListAll(t, s); len(got) != 1 || got[info.Hash].StoredSize != info.StoredSize {
		t.Fatalf("List after Sync = %v, want the one blob", got)
	}
}

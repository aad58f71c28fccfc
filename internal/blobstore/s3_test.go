package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"

	"mtm/internal/blobstore"
	"mtm/internal/blobstore/blobstoretest"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/store"
	"mtm/internal/testenv/s3"
)

// TestS3Suite runs the shared blob store suite against the S3 store on a
// real S3 server (versitygw on loopback), a bucket per test, with its index
// in a catalog.
func TestS3Suite(t *testing.T) {
	srv := s3.Start(t)
	blobstoretest.Run(t, func(t *testing.T) blobstore.Store {
		dir := t.TempDir()
		cat, err := catalog.Open(context.Background(), filepath.Join(dir, "catalog.db"), catalog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := blobstore.NewS3(blobstore.S3Options{Client: srv.Client(), Bucket: srv.Bucket(t), Prefix: "mtm/",
			Index: store.BlobIndex(cat), TmpDir: filepath.Join(dir, "tmp")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Error(err)
			}
			if err := cat.Close(); err != nil {
				t.Error(err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "tmp", "*")); len(left) != 0 {
				t.Errorf("temporary files left after Close: %q", left)
			}
		})
		return st
	})
}

// TestS3Objects: what Sync writes is in the bucket in the local store's
// formats (a pack decompresses, as with `zstd -dc`, to its messages in
// order; a large blob is its own object), a second store on the same
// bucket and index (another node) reads every blob from the bucket, and
// an object whose bytes rot is reported corrupt.
func TestS3Objects(t *testing.T) {
	f := newS3Fixture(t, nil)
	srv, bucket := f.srv, f.bucket
	ctx := context.Background()
	open := func(tmp string) *blobstore.S3 { return f.open(tmp, blobstore.S3Options{Prefix: "p/"}) }
	a := open("tmp-a")
	small := [][]byte{blobstoretest.Mail(1, 3000), blobstoretest.Mail(2, 9000), blobstoretest.Mail(3, 500)}
	large := blobstoretest.Mail(4, 3<<20)
	for _, m := range append(small, large) {
		if _, err := a.Put(ctx, bytes.NewReader(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	c := srv.Client()
	list, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, *o.Key)
	}
	largeKey := a.LooseKey(blobstoretest.HashOf(large))
	if len(keys) != 2 || !slices.Contains(keys, a.PackKey(1)) || !slices.Contains(keys, largeKey) {
		t.Fatalf("objects in the bucket: %q, want %s and %s", keys, a.PackKey(1), largeKey)
	}
	obj, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(a.PackKey(1))})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(dec)
	dec.Close()
	if want := bytes.Join(small, nil); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the pack object decompresses to %d bytes (%v), want the %d of its messages", len(got), err, len(want))
	}

	b := open("tmp-b") // another node: nothing pending, everything from the bucket
	for _, m := range append(small, large) {
		if got := blobstoretest.ReadAll(t, b, blobstoretest.HashOf(m)); !bytes.Equal(got, m) {
			t.Errorf("the other node read %d bytes, want %d", len(got), len(m))
		}
	}

	// Rot one byte of the pack: the blob there reads as corrupt.
	raw, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(a.PackKey(1))})
	if err != nil {
		t.Fatal(err)
	}
	packBytes, err := io.ReadAll(raw.Body)
	if err != nil {
		t.Fatal(err)
	}
	packBytes[len(packBytes)-10] ^= 0xff
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(a.PackKey(1)),
		Body: bytes.NewReader(packBytes)}); err != nil {
		t.Fatal(err)
	}
	r, err := b.Open(ctx, blobstoretest.HashOf(small[2]))
	if err == nil {
		_, err = io.ReadAll(r)
		r.Close() //nolint:errcheck // test
	}
	if !errors.Is(err, blobstore.ErrCorrupt) {
		t.Errorf("reading a rotten entry: %v, want ErrCorrupt", err)
	}
	if err := errors.Join(a.Close(), b.Close()); err != nil {
		t.Error(err)
	}
}

// TestS3Compact: deleted blobs' objects outlive their index rows by the
// grace period, then go; what is still named stays readable.
func TestS3Compact(t *testing.T) {
	clk := clock.NewFake(time.Now())
	f := newS3Fixture(t, clk)
	srv, cat, bucket := f.srv, f.cat, f.bucket
	ctx := context.Background()
	st := f.open("tmp", blobstore.S3Options{Clock: clk, Grace: time.Hour})
	defer st.Close() //nolint:errcheck // test
	gone := [][]byte{blobstoretest.Mail(1, 2000), blobstoretest.Mail(2, 2<<20)}
	kept := blobstoretest.Mail(3, 4000)
	for _, m := range gone {
		blobstoretest.Put(t, st, m)
	}
	blobstoretest.Put(t, st, kept) // a pack of its own: Put syncs
	for _, m := range gone {
		if err := st.Delete(ctx, blobstoretest.HashOf(m)); err != nil {
			t.Fatal(err)
		}
	}
	objects := func() int {
		out, err := srv.Client().ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Contents)
	}
	if n := objects(); n != 3 {
		t.Fatalf("%d objects before compaction, want 3", n)
	}
	compact := func() blobstore.CompactResult {
		res, err := st.Compact(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Within the grace period the emptied pack is only retired.
	if res := compact(); res.PacksDeleted != 0 || objects() != 3 {
		t.Errorf("compaction within the grace period removed something: %+v, %d objects", res, objects())
	}
	clk.Advance(2 * time.Hour)
	if res := compact(); res.PacksDeleted != 1 || objects() != 1 {
		t.Errorf("after the grace period: %+v, %d objects; want the retired pack and the large blob gone", res, objects())
	}
	if got := blobstoretest.ReadAll(t, st, blobstoretest.HashOf(kept)); !bytes.Equal(got, kept) {
		t.Error("the kept blob changed")
	}
	if bad, err := cat.Inconsistencies(ctx); err != nil || len(bad) != 0 {
		t.Errorf("catalog after compaction: %q, %v", bad, err)
	}
}

// TestS3Unindexed: the objects no index row names (a pack the index does
// not know, a large blob it does not name) are reported, and only those.
func TestS3Unindexed(t *testing.T) {
	f := newS3Fixture(t, nil)
	srv, bucket := f.srv, f.bucket
	ctx := context.Background()
	st := f.open("tmp", blobstore.S3Options{Prefix: "x/"})
	defer st.Close() //nolint:errcheck // test
	blobstoretest.Put(t, st, blobstoretest.Mail(1, 3000))
	blobstoretest.Put(t, st, blobstoretest.Mail(2, 2<<20))
	stray := []string{st.PackKey(99), st.LooseKey(blobstoretest.HashOf([]byte("never indexed")))}
	for _, key := range stray {
		if _, err := srv.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: bytes.NewReader([]byte("stray"))}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := st.Unindexed(ctx, func(key string, size int64, _ time.Duration) error {
		got = append(got, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(stray)
	if !slices.Equal(got, stray) {
		t.Errorf("Unindexed = %q, want %q", got, stray)
	}
}

// TestS3ManyPacks: with small packs, one Sync uploads several at once
// (Uploads at a time), and every blob is then readable by another store.
func TestS3ManyPacks(t *testing.T) {
	f := newS3Fixture(t, nil)
	cat := f.cat
	ctx := context.Background()
	open := func(tmp string) *blobstore.S3 {
		return f.open(tmp, blobstore.S3Options{PackTarget: 8 << 10, Uploads: 3})
	}
	a := open("a")
	var msgs [][]byte
	for i := range 40 {
		m := blobstoretest.Mail(uint64(i), 3000)
		msgs = append(msgs, m)
		if _, err := a.Put(ctx, bytes.NewReader(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	packs := 0
	if err := cat.BlobPacks(ctx, func(int64, string) error { packs++; return nil }); err != nil || packs < 5 {
		t.Errorf("%d packs after one Sync of 40 blobs with 8 KiB packs, want several (%v)", packs, err)
	}
	b := open("b")
	for _, m := range msgs {
		if got := blobstoretest.ReadAll(t, b, blobstoretest.HashOf(m)); !bytes.Equal(got, m) {
			t.Fatalf("read %d bytes, want %d", len(got), len(m))
		}
	}
	if err := errors.Join(a.Close(), b.Close()); err != nil {
		t.Error(err)
	}
}

// TestS3CompactRewrites: packs with many dead bytes and small packs are
// rewritten into new ones, each entry checked on the way; every blob still
// named reads the same from another store, the deleted ones are gone, and
// once the grace period is over the bucket holds the new packs only. A pack
// with a rotten entry is left as it is and reported.
func TestS3CompactRewrites(t *testing.T) {
	clk := clock.NewFake(time.Now())
	f := newS3Fixture(t, clk)
	srv, cat, bucket := f.srv, f.cat, f.bucket
	ctx := context.Background()
	open := func(tmp string) *blobstore.S3 {
		return f.open(tmp, blobstore.S3Options{PackTarget: 16 << 10, Clock: clk, Grace: time.Hour})
	}
	st := open("a")
	defer st.Close() //nolint:errcheck // test
	var kept, gone [][]byte
	for i := range 60 {
		m := blobstoretest.Mail(uint64(100+i), 6000)
		if _, err := st.Put(ctx, bytes.NewReader(m)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			gone = append(gone, m)
		} else {
			kept = append(kept, m)
		}
	}
	blobstoretest.Sync(t, st)
	for _, m := range gone {
		if err := st.Delete(ctx, blobstoretest.HashOf(m)); err != nil {
			t.Fatal(err)
		}
	}
	packsBefore := 0
	if err := cat.BlobPacks(ctx, func(int64, string) error { packsBefore++; return nil }); err != nil {
		t.Fatal(err)
	}
	res, err := st.Compact(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksRewritten != packsBefore || res.BlobsMoved != int64(len(kept)) {
		t.Errorf("compaction: %+v; want the %d packs rewritten and %d blobs moved", res, packsBefore, len(kept))
	}
	other := open("b")
	defer other.Close() //nolint:errcheck // test
	for _, m := range kept {
		if got := blobstoretest.ReadAll(t, other, blobstoretest.HashOf(m)); !bytes.Equal(got, m) {
			t.Fatal("a kept blob changed in the rewrite")
		}
	}
	for _, m := range gone {
		if ok, err := other.Has(ctx, blobstoretest.HashOf(m)); ok || err != nil {
			t.Errorf("a deleted blob is back: %v %v", ok, err)
		}
	}
	clk.Advance(2 * time.Hour)
	if _, err := st.Compact(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var live, bucketBytes, liveBytes int64
	if err := cat.BlobPackUsage(ctx, func(_, size, used, _ int64) error {
		live++
		liveBytes += used
		bucketBytes += size
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	list, err := srv.Client().ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var objBytes int64
	for _, o := range list.Contents {
		objBytes += aws.ToInt64(o.Size)
	}
	if int64(len(list.Contents)) != live || objBytes != liveBytes {
		t.Errorf("the bucket holds %d objects of %d bytes; the live packs are %d of %d live bytes",
			len(list.Contents), objBytes, live, liveBytes)
	}
	if bad, err := cat.Inconsistencies(ctx); err != nil || len(bad) != 0 {
		t.Errorf("catalog after compaction: %q, %v", bad, err)
	}

	// A rotten entry: its pack is left as it was, and reported. The other
	// blobs of its pack are deleted, so that the pack is worth rewriting.
	rotten := blobstoretest.HashOf(kept[len(kept)-1])
	loc, err := cat.LocateBlob(ctx, rotten)
	if err != nil {
		t.Fatal(err)
	}
	victim := loc.Pack
	mates, err := cat.PackBlobs(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range mates {
		if e.Hash != rotten {
			if err := st.Delete(ctx, e.Hash); err != nil {
				t.Fatal(err)
			}
		}
	}
	key := st.PackKey(victim)
	obj, err := srv.Client().GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	b[loc.Offset+loc.Length-5] ^= 0xff
	if _, err := srv.Client().PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Compact(ctx, nil); !errors.Is(err, blobstore.ErrCorrupt) {
		t.Errorf("compacting a pack with a rotten entry: %v, want ErrCorrupt", err)
	}
	if n, err := cat.PackBlobs(ctx, victim); err != nil || len(n) == 0 {
		t.Errorf("the rotten pack's rows moved: %d left, %v", len(n), err)
	}
}

// TestS3Multipart: a large blob that does not compress is uploaded in
// parts (5 MiB here) and reads back whole from another store.
func TestS3Multipart(t *testing.T) {
	f := newS3Fixture(t, nil)
	srv := f.srv
	proxy := srv.StartProxy(t)
	client := s3client(srv, proxy.Endpoint)
	open := func(tmp string) *blobstore.S3 {
		return f.open(tmp, blobstore.S3Options{Client: client, PartSize: 5 << 20})
	}
	big := make([]byte, 13<<20)
	if _, err := rand.NewChaCha8([32]byte{7}).Read(big); err != nil { // random bytes do not compress
		t.Fatal(err)
	}
	a := open("a")
	blobstoretest.Put(t, a, big)
	if c := proxy.Counts(); c["PUT"] < 3 || c["POST"] < 2 {
		t.Errorf("requests of a 13 MiB blob in 5 MiB parts: %v, want 3 part PUTs and the POSTs that begin and end it", c)
	}
	b := open("b")
	if got := blobstoretest.ReadAll(t, b, blobstoretest.HashOf(big)); !bytes.Equal(got, big) {
		t.Error("the blob uploaded in parts reads back different")
	}
	if err := errors.Join(a.Close(), b.Close()); err != nil {
		t.Error(err)
	}
}

// s3Fixture is what a test of the S3 store stands on: a real server, a
// bucket of its own, and a catalog holding the index.
type s3Fixture struct {
	t      *testing.T
	srv    *s3.Server
	dir    string
	cat    *catalog.DB
	bucket string
}

// newS3Fixture starts a server and opens the catalog, on clk (nil: the
// real clock).
func newS3Fixture(t *testing.T, clk clock.Clock) *s3Fixture {
	t.Helper()
	srv := s3.Start(t)
	dir := t.TempDir()
	cat, err := catalog.Open(context.Background(), filepath.Join(dir, "catalog.db"), catalog.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	return &s3Fixture{t: t, srv: srv, dir: dir, cat: cat, bucket: srv.Bucket(t)}
}

// open returns a store on the fixture's bucket and index with o's other
// settings (its client by default the server's) and tmp as its temporary
// directory: a store with another tmp is another node.
func (f *s3Fixture) open(tmp string, o blobstore.S3Options) *blobstore.S3 {
	f.t.Helper()
	if o.Client == nil {
		o.Client = f.srv.Client()
	}
	o.Bucket, o.Index, o.TmpDir = f.bucket, store.BlobIndex(f.cat), filepath.Join(f.dir, tmp)
	st, err := blobstore.NewS3(o)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// s3client is a client of srv through endpoint.
func s3client(srv *s3.Server, endpoint string) *awss3.Client {
	return awss3.New(awss3.Options{BaseEndpoint: aws.String(endpoint), Region: srv.Region, UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(srv.AccessKeyID, srv.SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
}

// countingIndex counts the single look-ups of the S3 store's index.
type countingIndex struct {
	blobstore.S3Index
	locates atomic.Int64
}

func (c *countingIndex) Locate(ctx context.Context, h blobstore.Hash) (blobstore.S3Entry, error) {
	c.locates.Add(1)
	return c.S3Index.Locate(ctx, h)
}

// TestS3PrefetchedLocations: blobs looked up ahead are read without a
// look-up of their own, and right; a blob deleted after the look-up is
// gone; a compaction that moved and removed blobs after their look-up
// costs a retry, not a wrong or failed read.
func TestS3PrefetchedLocations(t *testing.T) {
	clk := clock.NewFake(time.Now())
	f := newS3Fixture(t, clk)
	ctx := context.Background()
	idx := &countingIndex{S3Index: store.BlobIndex(f.cat)}
	st, err := blobstore.NewS3(blobstore.S3Options{Client: f.srv.Client(), Bucket: f.bucket, Index: idx,
		TmpDir: filepath.Join(f.dir, "tmp"), PackTarget: 16 << 10, Clock: clk, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close() //nolint:errcheck // test
	var datas [][]byte
	for i := range 60 {
		datas = append(datas, blobstoretest.Mail(uint64(300+i), 5000))
	}
	if _, err := st.PutAll(ctx, datas); err != nil {
		t.Fatal(err)
	}
	blobstoretest.Sync(t, st)
	hashes := func(ds [][]byte) []blobstore.Hash {
		var hs []blobstore.Hash
		for _, d := range ds {
			hs = append(hs, blobstoretest.HashOf(d))
		}
		return append(hs, blobstoretest.HashOf([]byte("never stored")))
	}
	if err := st.Prefetch(ctx, hashes(datas)); err != nil {
		t.Fatal(err)
	}
	before := idx.locates.Load()
	for _, d := range datas[:10] {
		if got := blobstoretest.ReadAll(t, st, blobstoretest.HashOf(d)); !bytes.Equal(got, d) {
			t.Fatal("a blob looked up ahead reads wrong")
		}
	}
	if n := idx.locates.Load() - before; n != 0 {
		t.Errorf("10 blobs looked up ahead cost %d look-ups of their own, want 0", n)
	}
	// Deleted after the look-up: gone.
	for _, d := range datas[10:30] {
		if err := st.Delete(ctx, blobstoretest.HashOf(d)); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range datas[10:30] {
		if _, err := st.Open(ctx, blobstoretest.HashOf(d)); !errors.Is(err, blobstore.ErrNotFound) {
			t.Fatalf("a deleted blob opens: %v", err)
		}
	}
	// Looked up, then moved by a compaction whose old packs are removed:
	// still read right.
	if err := st.Prefetch(ctx, hashes(datas[30:])); err != nil {
		t.Fatal(err)
	}
	was, err := idx.LocateMany(ctx, hashes(datas[30:]))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := st.Compact(ctx, nil); err != nil || res.BlobsMoved == 0 {
		t.Fatalf("Compact = %+v, %v; want blobs moved", res, err)
	}
	clk.Advance(2 * time.Hour)
	if _, err := st.Compact(ctx, nil); err != nil {
		t.Fatal(err)
	}
	now, err := idx.LocateMany(ctx, hashes(datas[30:]))
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for h, e := range now {
		if e.Pack != was[h].Pack {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the compaction moved none of the blobs looked up")
	}
	before = idx.locates.Load()
	for _, d := range datas[30:] {
		if got := blobstoretest.ReadAll(t, st, blobstoretest.HashOf(d)); !bytes.Equal(got, d) {
			t.Fatal("a blob moved after its look-up reads wrong")
		}
	}
	if n := idx.locates.Load() - before; n != int64(moved) {
		t.Errorf("%d blobs whose packs were removed after their look-up were looked up again %d times, want once each",
			moved, n)
	}
}

package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"mtm/internal/clock"
)

// S3 is the blob store on S3-compatible object storage (docs/design.md,
// "The blob store on S3"): packs and large blobs are objects written once,
// in the pack and loose formats of the local store; where each blob is
// lives in an index that every node shares (the catalog database,
// S3Index). A small blob is appended to a pack file in tmp/ that Sync
// uploads as one new object before it commits the pack's index rows; a
// large one is uploaded as its own object at once and indexed by the next
// Sync. Reads are ranged GETs of one entry, checked as the local store
// checks them.
type S3 struct {
	client   S3API
	bucket   string
	prefix   string // ends with "/" unless empty
	index    S3Index
	tmp      string
	target   int
	codec    *codec
	clk      clock.Clock
	grace    time.Duration
	uploads  int
	partSize int64
	// readsAhead is S3Options.ReadsAhead.
	readsAhead int

	mu      sync.Mutex
	cur     *memPack   // the pack Puts append to
	sealed  []*memPack // full packs waiting for Sync
	loose   []S3Entry  // uploaded large blobs waiting for their index rows
	pending map[Hash]pendingBlob
	hints   hints[S3Entry] // indexed, looked up ahead by Prefetch

	syncMu sync.Mutex // one Sync at a time; a Sync that waited finds less to do
}

// ReadsAhead is how many reads a reader of many blobs in turn (the IMAP
// server answering a FETCH) should keep under way: each read is a ranged
// GET that waits for its round trip. The local store has no such method:
// its reads are served from the page cache.
func (s *S3) ReadsAhead() int { return s.readsAhead }

// S3API is the part of an S3 client the store uses (aws-sdk-go-v2's
// *s3.Client has it).
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// S3Index is where the S3 store's blobs are: the catalog's BlobIndex role,
// shared by every node.
type S3Index interface {
	// NewPack reserves the id of a pack about to be uploaded.
	NewPack(ctx context.Context) (int64, error)
	// Commit makes pack (if not 0, of size bytes) live and indexes the
	// entries, in one transaction; an entry whose hash is indexed already
	// is skipped.
	Commit(ctx context.Context, pack, size int64, entries []S3Entry) error
	// Locate returns where blob h is, or an error wrapping ErrNotFound.
	Locate(ctx context.Context, h Hash) (S3Entry, error)
	// LocateMany returns where the indexed blobs among hs are; the others
	// are left out.
	LocateMany(ctx context.Context, hs []Hash) (map[Hash]S3Entry, error)
	// Delete drops blob h's row and says whether there was one.
	Delete(ctx context.Context, h Hash) (bool, error)
	// List calls fn for every indexed blob and stops at fn's first error,
	// which it returns unchanged.
	List(ctx context.Context, fn func(S3Entry) error) error
	// RetirePacks retires the live packs no row names and the packs left
	// uploading since before staleBefore.
	RetirePacks(ctx context.Context, staleBefore time.Time) (int, error)
	// RetiredPacks returns the packs retired before before.
	RetiredPacks(ctx context.Context, before time.Time) ([]int64, error)
	// DropPack forgets a retired pack whose object is removed.
	DropPack(ctx context.Context, id int64) error
	// Packs calls fn for every pack the index knows.
	Packs(ctx context.Context, fn func(id int64, state string) error) error
	// Usage calls fn for every live pack: its size, and the bytes and
	// number of the entries the index names in it.
	Usage(ctx context.Context, fn func(id, size, live, entries int64) error) error
	// PackEntries returns the entries the index names in pack id.
	PackEntries(ctx context.Context, id int64) ([]S3Entry, error)
	// Move makes the uploaded pack live and points the moved blobs at it,
	// in one transaction.
	Move(ctx context.Context, pack, size int64, moved []S3Entry) error
}

// S3Entry is where one blob is: in pack Pack at Offset (Length bytes of
// entry), or with Pack 0 in an object of its own (Length bytes).
type S3Entry struct {
	Hash           Hash
	Pack           int64
	Offset, Length int64
	Size           int64 // raw
}

// S3Options configure an S3 store.
type S3Options struct {
	Client S3API
	Bucket string
	Prefix string // the objects' key prefix, "" or ending in "/"
	Index  S3Index
	TmpDir string // where large blobs are compressed before upload
	// Level is the zstd level; zero means DefaultLevel.
	Level zstd.EncoderLevel
	// PackTarget is the size at which a pack is sealed; zero means 32 MiB.
	PackTarget int
	// Uploads bounds the packs a Sync uploads at once; zero means 4.
	Uploads int
	// PartSize is the size of the parts of a multipart upload, and the
	// largest object uploaded in one PUT; zero means 8 MiB (S3 wants 5 MiB
	// at least).
	PartSize int64
	// ReadsAhead is how many reads a reader of many blobs in turn should
	// keep under way (each read waits for a round trip to S3); zero means
	// 16.
	ReadsAhead int
	// Clock tells Compact the time; zero means the real clock.
	Clock clock.Clock
	// Grace is how long an object outlives the last index row that named
	// it (a reader on another node may have looked it up just before);
	// zero means one hour.
	Grace time.Duration
}

// memPack is a pack being gathered before its upload: in a file of tmp/
// (a writer's pack, so memory stays small whatever is put before a Sync)
// or in memory (compaction's, up to the pack size), with its entries (Pack
// 0 until its id is reserved).
type memPack struct {
	f       *os.File // nil: in buf
	buf     []byte
	size    int64
	entries []S3Entry
}

// add appends entry e's bytes b and returns e at its offset.
func (p *memPack) add(e S3Entry, b []byte) (S3Entry, error) {
	e.Offset = p.size
	if p.f != nil {
		if _, err := p.f.WriteAt(b, p.size); err != nil {
			return e, err
		}
	} else {
		p.buf = append(p.buf, b...)
	}
	p.size += int64(len(b))
	p.entries = append(p.entries, e)
	return e, nil
}

// body reads the whole pack.
func (p *memPack) body() io.ReadSeeker {
	if p.f != nil {
		return io.NewSectionReader(p.f, 0, p.size)
	}
	return bytes.NewReader(p.buf)
}

// entry returns a copy of the bytes of e.
func (p *memPack) entry(e S3Entry) ([]byte, error) {
	b := make([]byte, e.Length)
	if p.f != nil {
		_, err := p.f.ReadAt(b, e.Offset)
		return b, err
	}
	copy(b, p.buf[e.Offset:e.Offset+e.Length])
	return b, nil
}

// discard removes the pack's file, once it is uploaded and indexed.
func (p *memPack) discard() error {
	if p.f == nil {
		return nil
	}
	return errors.Join(p.f.Close(), os.Remove(p.f.Name()))
}

// pendingBlob is a blob Put has stored and the index does not name yet: an
// entry of a memPack, or an uploaded object of its own (pack nil).
type pendingBlob struct {
	pack  *memPack
	entry S3Entry
}

// NewS3 returns an S3 store.
func NewS3(o S3Options) (*S3, error) {
	if o.Client == nil || o.Bucket == "" || o.Index == nil || o.TmpDir == "" {
		return nil, errors.New("s3 blob store: client, bucket, index and tmp dir are required")
	}
	if o.Level == 0 {
		o.Level = DefaultLevel
	}
	if o.PackTarget <= 0 {
		o.PackTarget = packTarget
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.Uploads <= 0 {
		o.Uploads = 4
	}
	if o.PartSize <= 0 {
		o.PartSize = 8 << 20
	}
	if o.ReadsAhead <= 0 {
		o.ReadsAhead = 16
	}
	if err := os.MkdirAll(o.TmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	c, err := newCodec(o.Level)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	return &S3{client: o.Client, bucket: o.Bucket, prefix: o.Prefix, index: o.Index, tmp: o.TmpDir,
		target: o.PackTarget, codec: c, clk: o.Clock, grace: o.Grace, uploads: o.Uploads, partSize: o.PartSize, readsAhead: o.ReadsAhead, pending: map[Hash]pendingBlob{},
		hints: newHints[S3Entry]()}, nil
}

// PackKey is the object key of pack id; LooseKey that of large blob h.
func (s *S3) PackKey(id int64) string { return s.prefix + "packs/" + packName(id) }

// LooseKey is the object key of the large blob h.
func (s *S3) LooseKey(h Hash) string {
	x := h.String()
	return s.prefix + path.Join("blobs", x[0:2], x[2:4], x)
}

// Put stores the bytes of r. A blob of at most PackMaxBlob bytes joins the
// current pack and is durable after the next Sync; a larger one is
// compressed into a temporary file, uploaded as its own object, and
// indexed by the next Sync.
func (s *S3) Put(ctx context.Context, r io.Reader) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	bufp := s.codec.getSmallBuf()
	defer s.codec.putSmallBuf(bufp)
	n, err := readSmall(ctx, r, (*bufp)[:PackMaxBlob+1])
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	if n <= PackMaxBlob {
		return s.putPacked(ctx, (*bufp)[:n])
	}
	return s.putLoose(ctx, io.MultiReader(bytes.NewReader((*bufp)[:n]), r))
}

// existing returns the Info of blob h if it is stored already.
func (s *S3) existing(ctx context.Context, h Hash) (Info, bool, error) {
	s.mu.Lock()
	p, ok := s.pending[h]
	s.mu.Unlock()
	if ok {
		return Info{Hash: h, Size: p.entry.Size, StoredSize: p.entry.Length}, true, nil
	}
	e, err := s.index.Locate(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Info{}, false, nil
	}
	if err != nil {
		return Info{}, false, err
	}
	return Info{Hash: h, Size: e.Size, StoredSize: e.Length}, true, nil
}

func (s *S3) putPacked(ctx context.Context, raw []byte) (Info, error) {
	h := Hash(sha256.Sum256(raw))
	if info, ok, err := s.existing(ctx, h); err != nil || ok {
		if err != nil {
			err = fmt.Errorf("put blob %s: %w", h, err)
		}
		return info, err
	}
	return s.storePacked(h, raw)
}

// PutAll stores each of blobs as Put would and returns their Infos in the
// same order. The packed ones are looked up in the shared index together
// (LocateMany) instead of one round trip each. On an error, the blobs
// stored before it stay (unnamed by the catalog) and nothing else is
// stored.
func (s *S3) PutAll(ctx context.Context, blobs [][]byte) ([]Info, error) {
	return putAll(ctx, blobs, PackMaxBlob, batchStore{
		put:      func(b []byte) (Info, error) { return s.Put(ctx, bytes.NewReader(b)) },
		existing: func(hs []Hash) (map[Hash]Info, error) { return s.existingMany(ctx, hs) },
		store:    s.storePacked,
	})
}

// existingMany is existing for many blobs; those not stored are left out.
func (s *S3) existingMany(ctx context.Context, hs []Hash) (map[Hash]Info, error) {
	out := make(map[Hash]Info, len(hs))
	rest := make([]Hash, 0, len(hs))
	s.mu.Lock()
	for _, h := range hs {
		if p, ok := s.pending[h]; ok {
			out[h] = Info{Hash: h, Size: p.entry.Size, StoredSize: p.entry.Length}
		} else {
			rest = append(rest, h)
		}
	}
	s.mu.Unlock()
	if len(rest) == 0 {
		return out, nil
	}
	found, err := s.index.LocateMany(ctx, rest)
	if err != nil {
		return nil, err
	}
	for h, e := range found {
		out[h] = Info{Hash: h, Size: e.Size, StoredSize: e.Length}
	}
	return out, nil
}

// storePacked compresses raw, of hash h, into the current pack, unless
// another goroutine stored it meanwhile.
func (s *S3) storePacked(h Hash, raw []byte) (Info, error) {
	bufp := s.codec.getEntryBuf()
	defer s.codec.putEntryBuf(bufp)
	entry, err := s.codec.encodeAll(raw, (*bufp)[:packHeaderLen])
	if err != nil {
		return Info{}, fmt.Errorf("put blob %s: %w", h, err)
	}
	*bufp = entry[:0]
	putPackHeader(entry, int64(len(raw)), h)

	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pending[h]; ok { // stored meanwhile by another goroutine
		return Info{Hash: h, Size: p.entry.Size, StoredSize: p.entry.Length}, nil
	}
	if s.cur == nil {
		f, err := os.CreateTemp(s.tmp, packTmpPattern)
		if err != nil {
			return Info{}, fmt.Errorf("put blob %s: %w", h, err)
		}
		s.cur = &memPack{f: f}
	}
	e, err := s.cur.add(S3Entry{Hash: h, Length: int64(len(entry)), Size: int64(len(raw))}, entry)
	if err != nil {
		// What the pack holds is still good: it goes up at the next Sync,
		// and the next blob starts another.
		s.sealed = append(s.sealed, s.cur)
		s.cur = nil
		return Info{}, fmt.Errorf("put blob %s: writing the pack: %w", h, err)
	}
	s.pending[h] = pendingBlob{pack: s.cur, entry: e}
	if s.cur.size >= int64(s.target) {
		s.sealed = append(s.sealed, s.cur)
		s.cur = nil
	}
	return Info{Hash: h, Size: e.Size, StoredSize: e.Length, Created: true}, nil
}

func (s *S3) putLoose(ctx context.Context, r io.Reader) (Info, error) {
	f, err := os.CreateTemp(s.tmp, tmpPattern)
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	defer os.Remove(f.Name()) //nolint:errcheck // a temporary file
	defer f.Close()           //nolint:errcheck // read only after writeLoose
	info, err := s.codec.writeLoose(ctx, f, r, true)
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	if old, ok, err := s.existing(ctx, info.Hash); err != nil || ok {
		if err != nil {
			err = fmt.Errorf("put blob %s: %w", info.Hash, err)
		}
		return old, err
	}
	if err := s.upload(ctx, s.LooseKey(info.Hash), f, info.StoredSize); err != nil {
		return Info{}, fmt.Errorf("put blob %s: uploading: %w", info.Hash, err)
	}
	e := S3Entry{Hash: info.Hash, Length: info.StoredSize, Size: info.Size}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[info.Hash]; !ok {
		s.pending[info.Hash] = pendingBlob{entry: e}
		s.loose = append(s.loose, e)
	}
	info.Created = true
	return info, nil
}

// upload sends the size bytes of f as the object key: in one PUT up to the
// part size, else as a multipart upload of part-size pieces read from the
// file one at a time (memory stays bounded by one part), aborted if a part
// fails.
func (s *S3) upload(ctx context.Context, key string, f *os.File, size int64) error {
	if size <= s.partSize {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key),
			Body: io.NewSectionReader(f, 0, size), ContentLength: aws.Int64(size)})
		return err
	}
	mu, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket),
		Key: aws.String(key)})
	if err != nil {
		return err
	}
	var parts []types.CompletedPart
	err = func() error {
		for n, off := int32(1), int64(0); off < size; n, off = n+1, off+s.partSize {
			length := min(s.partSize, size-off)
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.bucket), Key: aws.String(key),
				UploadId: mu.UploadId, PartNumber: aws.Int32(n), Body: io.NewSectionReader(f, off, length),
				ContentLength: aws.Int64(length)})
			if err != nil {
				return fmt.Errorf("part %d: %w", n, err)
			}
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		}
		_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(s.bucket),
			Key: aws.String(key), UploadId: mu.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}()
	if err != nil {
		_, aerr := s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: mu.UploadId})
		return errors.Join(err, aerr)
	}
	return nil
}

// Sync makes every blob Put so far durable: it uploads the packs gathered
// since the last Sync, each as a new object, and commits their index rows
// and those of the large blobs uploaded meanwhile. If it fails, the blobs
// stay pending and the next Sync tries again.
func (s *S3) Sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	packs := s.sealed
	if s.cur != nil && len(s.cur.entries) > 0 {
		packs = append(packs, s.cur)
	}
	loose := s.loose
	s.cur, s.sealed, s.loose = nil, nil, nil
	s.mu.Unlock()

	// The packs go up to uploads at a time, each indexed once it is up.
	uploaded := make([]bool, len(packs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.uploads)
	for i, p := range packs {
		g.Go(func() error {
			if err := s.uploadPack(gctx, p); err != nil {
				return err
			}
			uploaded[i] = true
			return nil
		})
	}
	err := g.Wait()
	if err == nil && len(loose) > 0 {
		if cerr := s.index.Commit(ctx, 0, 0, loose); cerr != nil {
			err = fmt.Errorf("sync blobs: %w", cerr)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var left []*memPack
	for i, p := range packs {
		if !uploaded[i] {
			left = append(left, p)
			continue
		}
		for _, e := range p.entries {
			delete(s.pending, e.Hash)
		}
		if derr := p.discard(); derr != nil && err == nil {
			err = fmt.Errorf("sync blobs: removing an uploaded pack's file: %w", derr)
		}
	}
	if err != nil {
		// What is not durable waits for the next Sync.
		s.sealed = append(left, s.sealed...)
		s.loose = append(loose, s.loose...)
		return err
	}
	for _, e := range loose {
		delete(s.pending, e.Hash)
	}
	return nil
}

// uploadPack reserves an id for p, uploads it as a new object and commits
// its index rows.
func (s *S3) uploadPack(ctx context.Context, p *memPack) error {
	id, err := s.index.NewPack(ctx)
	if err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	if err := s.putPackObject(ctx, id, p.body(), p.size); err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	entries := make([]S3Entry, len(p.entries))
	for i, e := range p.entries {
		e.Pack = id
		entries[i] = e
	}
	if err := s.index.Commit(ctx, id, p.size, entries); err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	return nil
}

// Open returns the exact bytes of blob h, streaming, checked at EOF.
func (s *S3) Open(ctx context.Context, h Hash) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", h, err)
	}
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		p, pending := s.pending[h]
		var packed []byte
		var perr error
		if pending && p.pack != nil {
			packed, perr = p.pack.entry(p.entry)
		}
		hint, hinted := s.hints.take(h)
		s.mu.Unlock()
		if perr != nil {
			return nil, fmt.Errorf("open blob %s: reading its pack: %w", h, perr)
		}
		e := p.entry
		if !pending && hinted {
			e = hint
		} else if !pending {
			var err error
			if e, err = s.index.Locate(ctx, h); err != nil {
				return nil, fmt.Errorf("open blob %s: %w", h, err)
			}
		}
		var body io.ReadCloser
		if packed != nil {
			body = io.NopCloser(bytes.NewReader(packed))
		} else {
			var err error
			if body, err = s.get(ctx, e); err != nil {
				if isNoSuchKey(err) && attempt < 2 {
					continue // moved by compaction: look it up again
				}
				if isNoSuchKey(err) {
					err = fmt.Errorf("%w: its object is missing", ErrNotFound)
				}
				return nil, fmt.Errorf("open blob %s: %w", h, err)
			}
		}
		r, err := s.reader(ctx, h, e, packed != nil || e.Pack != 0, body)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("open blob %s: %w", h, err), body.Close())
		}
		return r, nil
	}
}

// Prefetch looks up, in a few queries of the shared index (LocateMany),
// where the blobs among hs are, for reads about to come: a client
// downloading a folder over IMAP, one message per command, otherwise pays
// a round trip to the catalog database per message before its GET. As in
// Local.Prefetch, a location is kept until it is used once, the blob is
// deleted, or maxHints are kept; a stale one (its pack compacted and
// removed) costs the retry Open makes anyway, and a location can never
// make Open return another blob's bytes (the entry header names its hash).
func (s *S3) Prefetch(ctx context.Context, hs []Hash) error {
	return s.hints.prefetch(&s.mu, hs, func(hs []Hash) (map[Hash]S3Entry, error) {
		found, err := s.index.LocateMany(ctx, hs)
		if err != nil {
			return nil, fmt.Errorf("looking %d blobs up: %w", len(hs), err)
		}
		return found, nil
	})
}

// get fetches the bytes of entry e: a range of its pack, or its object.
func (s *S3) get(ctx context.Context, e S3Entry) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.LooseKey(e.Hash))}
	if e.Pack != 0 {
		in.Key = aws.String(s.PackKey(e.Pack))
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", e.Offset, e.Offset+e.Length-1))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// reader checks the header of the pack entry (packed) or the object in body
// and returns a reader of its decompressed, checked bytes.
func (s *S3) reader(ctx context.Context, h Hash, e S3Entry, packed bool, body io.ReadCloser) (io.ReadCloser, error) {
	size := e.Size
	if packed {
		hdr := make([]byte, packHeaderLen)
		if _, err := io.ReadFull(body, hdr); err != nil {
			return nil, fmt.Errorf("%w: reading the entry header: %v", ErrCorrupt, err)
		}
		if err := checkPackHeader(hdr, e.Size, h); err != nil {
			return nil, err
		}
	} else {
		var hdr [headerLen]byte
		if _, err := io.ReadFull(body, hdr[:]); err != nil {
			return nil, fmt.Errorf("%w: reading the header: %v", ErrCorrupt, err)
		}
		n, err := parseHeader(&hdr)
		if err != nil {
			return nil, err
		}
		size = n
	}
	src := &recordingReader{r: body}
	d, err := s.codec.getDecoder(src)
	if err != nil {
		return nil, err
	}
	return &blobReader{ctx: ctx, codec: s.codec, h: h, size: size, body: body, src: src, d: d, hasher: sha256.New()}, nil
}

func isNoSuchKey(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

// Has reports whether blob h exists.
func (s *S3) Has(ctx context.Context, h Hash) (bool, error) {
	_, ok, err := s.existing(ctx, h)
	if err != nil {
		return false, fmt.Errorf("has blob %s: %w", h, err)
	}
	return ok, nil
}

// Stat returns the Info of blob h.
func (s *S3) Stat(ctx context.Context, h Hash) (Info, error) {
	info, ok, err := s.existing(ctx, h)
	if err != nil {
		return Info{}, fmt.Errorf("stat blob %s: %w", h, err)
	}
	if !ok {
		return Info{}, fmt.Errorf("stat blob %s: %w", h, ErrNotFound)
	}
	return info, nil
}

// Delete drops blob h from the index; its bytes become dead, and the
// objects that hold only dead bytes are removed by compaction after the
// grace period (docs/design.md). Only prune deletes blobs.
func (s *S3) Delete(ctx context.Context, h Hash) error {
	s.mu.Lock()
	_, pending := s.pending[h]
	s.hints.forget(h)
	s.mu.Unlock()
	if pending {
		if err := s.Sync(ctx); err != nil {
			return fmt.Errorf("delete blob %s: %w", h, err)
		}
	}
	ok, err := s.index.Delete(ctx, h)
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
	if !ok {
		return fmt.Errorf("delete blob %s: %w", h, ErrNotFound)
	}
	return nil
}

// List calls fn for every blob: those not yet indexed, then the index's.
func (s *S3) List(ctx context.Context, fn func(Info) error) error {
	s.mu.Lock()
	var pending []Info
	for h, p := range s.pending {
		pending = append(pending, Info{Hash: h, Size: p.entry.Size, StoredSize: p.entry.Length})
	}
	s.mu.Unlock()
	seen := make(map[Hash]bool, len(pending))
	for _, info := range pending {
		seen[info.Hash] = true
		if err := fn(info); err != nil {
			return err
		}
	}
	return s.index.List(ctx, func(e S3Entry) error {
		if seen[e.Hash] {
			return nil
		}
		return fn(Info{Hash: e.Hash, Size: e.Size, StoredSize: e.Length})
	})
}

// Compact removes the objects that hold only dead bytes, once they have
// been dead for the grace period (docs/design.md, "The blob store on
// S3"): it retires the packs no index row names and those a dead writer
// left uploading, removes the objects of packs retired longer ago than the
// grace period and forgets them, and removes the objects of large blobs
// that no row names and that are older than the grace period. The caller
// holds the catalog's blob-deletion lock. beat, if not nil, is called after
// each object removed; its error stops the compaction. Packs whose live
// entries are few are not yet rewritten.
func (s *S3) Compact(ctx context.Context, beat func(context.Context) error) (CompactResult, error) {
	var res CompactResult
	rerr := s.rewrite(ctx, beat, &res)
	if rerr != nil && !errors.Is(rerr, ErrCorrupt) {
		return res, fmt.Errorf("compact: %w", rerr)
	}
	horizon := s.clk.Now().Add(-s.grace)
	if _, err := s.index.RetirePacks(ctx, horizon); err != nil {
		return res, fmt.Errorf("compact: %w", err)
	}
	ids, err := s.index.RetiredPacks(ctx, horizon)
	if err != nil {
		return res, fmt.Errorf("compact: %w", err)
	}
	for _, id := range ids {
		if err := s.remove(ctx, s.PackKey(id)); err != nil {
			return res, fmt.Errorf("compact: pack %s: %w", packName(id), err)
		}
		if err := s.index.DropPack(ctx, id); err != nil {
			return res, fmt.Errorf("compact: %w", err)
		}
		res.PacksDeleted++
		if beat != nil {
			if err := beat(ctx); err != nil {
				return res, err
			}
		}
	}
	err = s.listObjects(ctx, s.prefix+"blobs/", func(key string, size int64, modified time.Time) error {
		h, err := ParseHash(path.Base(key))
		if err != nil || !modified.Before(horizon) {
			return nil // not a blob's object, or too young to judge
		}
		if _, ok, err := s.existing(ctx, h); err != nil || ok {
			return err
		}
		if err := s.remove(ctx, key); err != nil {
			return err
		}
		res.BytesFreed += size
		if beat != nil {
			return beat(ctx)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("compact: %w", err)
	}
	if rerr != nil {
		return res, fmt.Errorf("compact: %w", rerr)
	}
	return res, nil
}

// rewrite copies the live entries of the packs worth rewriting into new
// packs: those whose dead bytes reach 1/compactDeadShare of them, and the
// small ones (under a quarter of the pack size: a night's packs) when there
// are two or more to merge; a merged pack that is still small is merged
// again with the next ones, so a byte is rewritten a few times at most. Each entry is checked
// (header, size, SHA-256) on the way; a pack with a corrupt entry is left
// as it is and reported (an error wrapping ErrCorrupt, after the others are
// done). Each new pack is uploaded, then its rows moved in one transaction;
// the emptied packs are retired by Compact after.
func (s *S3) rewrite(ctx context.Context, beat func(context.Context) error, res *CompactResult) error {
	var dead, small []int64
	err := s.index.Usage(ctx, func(id, size, live, n int64) error {
		switch {
		case n == 0:
			// nothing to move: Compact retires it
		case (size-live)*compactDeadShare >= size:
			dead = append(dead, id)
		case size < int64(s.target)/4:
			small = append(small, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	todo := dead
	if len(small) >= 2 {
		todo = append(todo, small...)
	}
	out := &memPack{}
	flush := func() error {
		if len(out.entries) == 0 {
			return nil
		}
		id, err := s.index.NewPack(ctx)
		if err != nil {
			return err
		}
		if err := s.putPackObject(ctx, id, out.body(), out.size); err != nil {
			return err
		}
		moved := make([]S3Entry, len(out.entries))
		for i, e := range out.entries {
			e.Pack = id
			moved[i] = e
		}
		if err := s.index.Move(ctx, id, out.size, moved); err != nil {
			return err
		}
		res.BlobsMoved += int64(len(moved))
		out = &memPack{}
		return nil
	}
	var corrupt []error
	for _, id := range todo {
		entries, err := s.index.PackEntries(ctx, id)
		if err != nil {
			return err
		}
		obj, err := s.getObject(ctx, s.PackKey(id))
		if err != nil {
			return fmt.Errorf("pack %s: %w", packName(id), err)
		}
		var bad error
		for _, e := range entries {
			if e.Offset+e.Length > int64(len(obj)) {
				bad = fmt.Errorf("%w: pack %s ends before the entry of %s", ErrCorrupt, packName(id), e.Hash)
				break
			}
			if err := s.checkEntry(ctx, e, obj[e.Offset:e.Offset+e.Length]); err != nil {
				bad = fmt.Errorf("pack %s: %w", packName(id), err)
				break
			}
		}
		if bad != nil {
			corrupt = append(corrupt, bad)
			continue
		}
		for _, e := range entries {
			if _, err := out.add(e, obj[e.Offset:e.Offset+e.Length]); err != nil {
				return err
			}
			if out.size >= int64(s.target) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		res.PacksRewritten++
		if beat != nil {
			if err := beat(ctx); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return errors.Join(corrupt...)
}

// checkEntry decompresses the pack entry b of e and checks its header,
// size and hash.
func (s *S3) checkEntry(ctx context.Context, e S3Entry, b []byte) error {
	r, err := s.reader(ctx, e.Hash, e, true, io.NopCloser(bytes.NewReader(b)))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, r)
	return errors.Join(err, r.Close())
}

// getObject returns the whole of an object.
func (s *S3) getObject(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(out.Body)
	return b, errors.Join(err, out.Body.Close())
}

// putPackObject uploads a new pack object of size bytes, never replacing
// one.
func (s *S3) putPackObject(ctx context.Context, id int64, body io.ReadSeeker, size int64) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.PackKey(id)),
		Body: body, ContentLength: aws.Int64(size), IfNoneMatch: aws.String("*")})
	if err != nil {
		return fmt.Errorf("uploading pack %s: %w", packName(id), err)
	}
	return nil
}

// Unindexed calls fn for every object in the bucket that no index row
// names: a pack the index does not know, or a large blob it does not
// name. Such objects are left by writers that died between an upload and
// its index transaction, or wait for their grace period after a prune;
// Compact removes them once they are older than the grace period, which
// is why fn is told their age.
func (s *S3) Unindexed(ctx context.Context, fn func(key string, size int64, age time.Duration) error) error {
	known := map[int64]bool{}
	if err := s.index.Packs(ctx, func(id int64, _ string) error { known[id] = true; return nil }); err != nil {
		return err
	}
	now := s.clk.Now()
	err := s.listObjects(ctx, s.prefix+"packs/", func(key string, size int64, modified time.Time) error {
		if id, ok := parsePackName(path.Base(key)); ok && known[id] {
			return nil
		}
		return fn(key, size, now.Sub(modified))
	})
	if err != nil {
		return err
	}
	return s.listObjects(ctx, s.prefix+"blobs/", func(key string, size int64, modified time.Time) error {
		h, err := ParseHash(path.Base(key))
		if err == nil {
			if _, ok, err := s.existing(ctx, h); err != nil || ok {
				return err
			}
		}
		return fn(key, size, now.Sub(modified))
	})
}

// remove deletes one object; one already gone is no error.
func (s *S3) remove(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil && !isNoSuchKey(err) {
		return err
	}
	return nil
}

// listObjects calls fn for every object under prefix, page by page.
func (s *S3) listObjects(ctx context.Context, prefix string, fn func(key string, size int64, modified time.Time) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if err := fn(aws.ToString(o.Key), aws.ToInt64(o.Size), aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Seal uploads what is gathered (as Sync does).
func (s *S3) Seal(ctx context.Context) error { return s.Sync(ctx) }

// Close syncs what is pending.
func (s *S3) Close() error { return s.Sync(context.Background()) }

var _ Store = (*S3)(nil)

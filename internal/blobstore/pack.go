package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Pack entries (see docs/design.md, "Pack files").
const (
	packMagic           = 0x184D2A5C // a zstd skippable-frame magic, not the loose one
	packHeaderFrameSize = 8 + 32     // raw size and SHA-256
	packHeaderLen       = 4 + 4 + packHeaderFrameSize

	// PackMaxBlob is the largest raw size stored in a pack; larger blobs
	// get a loose file each.
	PackMaxBlob = 1 << 20
	// packTarget is the size at which a writer seals its pack.
	packTarget = 32 << 20
	// packTmpPattern names packs being created in data_dir/tmp.
	packTmpPattern = "pack-*.tmp"
	packSuffix     = ".pack"
)

// putPackHeader writes the entry header of a blob of rawSize bytes and hash
// h into b.
func putPackHeader(b []byte, rawSize int64, h Hash) {
	binary.LittleEndian.PutUint32(b[0:4], packMagic)
	binary.LittleEndian.PutUint32(b[4:8], packHeaderFrameSize)
	binary.LittleEndian.PutUint64(b[8:16], uint64(rawSize))
	copy(b[16:48], h[:])
}

// checkPackHeader checks that b is the header of blob h of rawSize bytes.
func checkPackHeader(b []byte, rawSize int64, h Hash) error {
	if m := binary.LittleEndian.Uint32(b[0:4]); m != packMagic {
		return fmt.Errorf("%w: entry magic %#08x, want %#08x", ErrCorrupt, m, uint32(packMagic))
	}
	if n := binary.LittleEndian.Uint32(b[4:8]); n != packHeaderFrameSize {
		return fmt.Errorf("%w: entry frame size %d, want %d", ErrCorrupt, n, packHeaderFrameSize)
	}
	if s := int64(binary.LittleEndian.Uint64(b[8:16])); s != rawSize {
		return fmt.Errorf("%w: entry raw size %d, index says %d", ErrCorrupt, s, rawSize)
	}
	if !bytes.Equal(b[16:48], h[:]) {
		return fmt.Errorf("%w: entry names hash %x", ErrCorrupt, b[16:48])
	}
	return nil
}

// packName returns the file name of pack id.
func packName(id int64) string { return fmt.Sprintf("%016x%s", id, packSuffix) }

// parsePackName returns the id of a pack file name.
func parsePackName(name string) (int64, bool) {
	s, ok := strings.CutSuffix(name, packSuffix)
	if !ok || len(s) != 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 16, 63)
	return int64(id), err == nil
}

func (l *Local) packPath(id int64) string { return filepath.Join(l.packs, packName(id)) }

// packWriter appends entries to one pack that it holds locked.
type packWriter struct {
	id    int64
	f     *os.File
	size  int64 // bytes written
	dirty bool  // written since its last fsync
}

// createPack creates a new pack: a packs row, then a file made and locked
// in tmp and renamed into packs (directory synced), so no file in packs is
// ever unlocked while its writer may still append.
func (l *Local) createPack(ctx context.Context) (*packWriter, error) {
	id, err := l.idx.newPack(ctx, l.clk.Now())
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(l.tmp, packTmpPattern)
	if err != nil {
		return nil, fmt.Errorf("create pack: %w", err)
	}
	fail := func(err error) (*packWriter, error) {
		return nil, errors.Join(fmt.Errorf("create pack: %w", err), f.Close(), os.Remove(f.Name()))
	}
	if ok, err := tryLock(f); err != nil || !ok {
		return fail(errors.Join(errors.New("cannot lock new pack"), err))
	}
	if err := f.Chmod(blobPerm | 0o200); err != nil {
		return fail(err)
	}
	if err := renameNoReplace(f.Name(), l.packPath(id)); err != nil {
		return fail(err)
	}
	if !l.noSync {
		if err := syncDir(l.packs); err != nil {
			return nil, errors.Join(err, f.Close())
		}
	}
	return &packWriter{id: id, f: f}, nil
}

// seal makes the pack durable and read-only and closes it, which drops its
// lock.
func (w *packWriter) seal(noSync bool) error {
	var errs []error
	if w.dirty && !noSync {
		errs = append(errs, w.f.Sync())
	}
	w.dirty = false
	errs = append(errs, w.f.Chmod(blobPerm), w.f.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("seal pack %s: %w", packName(w.id), err)
	}
	return nil
}

// putPacked stores raw, the whole of a blob of at most PackMaxBlob bytes,
// in this process's pack. The blob is durable only after Sync.
func (l *Local) putPacked(ctx context.Context, raw []byte) (Info, error) {
	h := Hash(sha256.Sum256(raw))
	if loc, ok, err := l.locate(ctx, h); err != nil {
		return Info{}, fmt.Errorf("put blob %s: %w", h, err)
	} else if ok {
		return Info{Hash: h, Size: loc.size, StoredSize: loc.length}, nil
	}
	return l.storePacked(ctx, h, raw)
}

// PutAll stores each of blobs as Put would and returns their Infos in the
// same order. The packed ones (at most PackMax bytes) are looked up
// together, in one index query per 500, instead of one query each: the
// snapshot engine hands over the messages of a batch at once. On an
// error, the blobs stored before it stay (unnamed by the catalog, like the
// blobs of a crashed run) and nothing else is stored.
func (l *Local) PutAll(ctx context.Context, blobs [][]byte) ([]Info, error) {
	return putAll(ctx, blobs, l.packMax, batchStore{
		put: func(b []byte) (Info, error) { return l.Put(ctx, bytes.NewReader(b)) },
		existing: func(hs []Hash) (map[Hash]Info, error) {
			locs, err := l.locateMany(ctx, hs)
			if err != nil {
				return nil, err
			}
			found := make(map[Hash]Info, len(locs))
			for h, loc := range locs {
				found[h] = Info{Hash: h, Size: loc.size, StoredSize: loc.length}
			}
			return found, nil
		},
		store: func(h Hash, raw []byte) (Info, error) { return l.storePacked(ctx, h, raw) },
	})
}

// batchStore is what putAll needs of a store.
type batchStore struct {
	put      func([]byte) (Info, error)             // a blob too large for a pack
	existing func([]Hash) (map[Hash]Info, error)    // the blobs among hs stored already
	store    func(h Hash, raw []byte) (Info, error) // a new packed blob
}

// putAll is PutAll of both stores: the blobs over packMax go through put
// one by one; the others are hashed, looked up together, and the new ones
// stored, each hash once. It checks ctx first.
func putAll(ctx context.Context, blobs [][]byte, packMax int, st batchStore) ([]Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("put blobs: %w", err)
	}
	infos := make([]Info, len(blobs))
	hs := make([]Hash, 0, len(blobs))
	for i, b := range blobs {
		if len(b) > packMax {
			var err error
			if infos[i], err = st.put(b); err != nil {
				return nil, err
			}
			continue
		}
		infos[i].Hash = sha256.Sum256(b)
		hs = append(hs, infos[i].Hash)
	}
	found, err := st.existing(hs)
	if err != nil {
		return nil, fmt.Errorf("put %d blobs: %w", len(hs), err)
	}
	for i, b := range blobs {
		if len(b) > packMax {
			continue
		}
		h := infos[i].Hash
		if info, ok := found[h]; ok { // stored already, or earlier in blobs
			infos[i] = info
			continue
		}
		if infos[i], err = st.store(h, b); err != nil {
			return nil, err
		}
		found[h] = Info{Hash: h, Size: infos[i].Size, StoredSize: infos[i].StoredSize}
	}
	return infos, nil
}

// locateMany is locate for many blobs: the ones this process wrote and
// has not yet indexed or has hints for, then the index in a few queries.
// Packed blobs not found are left out.
func (l *Local) locateMany(ctx context.Context, hs []Hash) (map[Hash]location, error) {
	out := make(map[Hash]location, len(hs))
	rest := make([]Hash, 0, len(hs))
	l.packMu.Lock()
	for _, h := range hs {
		loc, ok := l.pending[h]
		if !ok {
			loc, ok = l.hints.take(h)
		}
		if ok {
			out[h] = loc
		} else {
			rest = append(rest, h)
		}
	}
	l.packMu.Unlock()
	if len(rest) == 0 {
		return out, nil
	}
	found, err := l.idx.findMany(ctx, rest)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, found)
	return out, nil
}

// storePacked compresses raw, of hash h, and appends it to the current
// pack, unless another goroutine did meanwhile.
func (l *Local) storePacked(ctx context.Context, h Hash, raw []byte) (Info, error) {
	bufp := l.codec.getEntryBuf()
	defer l.codec.putEntryBuf(bufp)
	entry, err := l.codec.encodeAll(raw, (*bufp)[:packHeaderLen])
	if err != nil {
		return Info{}, fmt.Errorf("put blob %s: %w", h, err)
	}
	*bufp = entry[:0]
	putPackHeader(entry, int64(len(raw)), h)

	l.packMu.Lock()
	defer l.packMu.Unlock()
	if loc, ok := l.pending[h]; ok { // stored meanwhile by another goroutine
		return Info{Hash: h, Size: loc.size, StoredSize: loc.length}, nil
	}
	if l.cur == nil {
		if l.cur, err = l.createPack(ctx); err != nil {
			return Info{}, fmt.Errorf("put blob %s: %w", h, err)
		}
	}
	w := l.cur
	n, err := w.f.WriteAt(entry, w.size)
	w.dirty = true
	if err != nil {
		// The partial entry is dead bytes; seal this pack and start another
		// for the next blob.
		w.size += int64(n)
		l.rotate()
		return Info{}, fmt.Errorf("put blob %s: write pack: %w", h, err)
	}
	loc := location{pack: w.id, offset: w.size, length: int64(len(entry)), size: int64(len(raw))}
	w.size += int64(len(entry))
	l.pending[h] = loc
	if w.size >= packTarget {
		l.rotate()
	}
	return Info{Hash: h, Size: loc.size, StoredSize: loc.length, Created: true}, nil
}

// rotate moves the current pack to the packs that the next Sync seals.
// packMu must be held.
func (l *Local) rotate() {
	if l.cur != nil {
		l.sealing = append(l.sealing, l.cur)
		l.cur = nil
	}
}

// locate finds blob h among the packed blobs: those this process wrote and
// has not yet indexed, then the index.
func (l *Local) locate(ctx context.Context, h Hash) (location, bool, error) {
	l.packMu.Lock()
	loc, ok := l.pending[h]
	if !ok {
		// A hint is used once: a retry (its pack compacted away) asks
		// the index.
		loc, ok = l.hints.take(h)
	}
	l.packMu.Unlock()
	if ok {
		return loc, true, nil
	}
	return l.idx.find(ctx, h)
}

// Prefetch looks up, in a few queries, where the packed blobs among hs
// are, for reads about to come (a folder downloaded message after
// message): each Open of one of them then skips its own index query. A
// location is kept until it is used once, the blob is deleted, or the
// hints are full (then the rest of hs is not looked up); a stale one (its
// pack compacted meanwhile) costs the retry Open makes anyway.
func (l *Local) Prefetch(ctx context.Context, hs []Hash) error {
	return l.hints.prefetch(&l.packMu, hs, func(hs []Hash) (map[Hash]location, error) {
		return l.idx.findMany(ctx, hs)
	})
}

// forget drops the hint of a blob being deleted, and makes a Prefetch
// under way drop what it found.
func (l *Local) forget(h Hash) {
	l.packMu.Lock()
	l.hints.forget(h)
	l.packMu.Unlock()
}

// Sync makes every blob that Put has stored so far durable: it fsyncs the
// packs written since the last Sync and then records their blobs in the
// index. Loose blobs are durable when Put returns already.
func (l *Local) Sync(ctx context.Context) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.packMu.Lock()
	sealing := l.sealing
	l.sealing = nil
	cur := l.cur
	curDirty := cur != nil && cur.dirty
	if cur != nil {
		cur.dirty = false
	}
	batch := make([]indexed, 0, len(l.pending))
	for h, loc := range l.pending {
		batch = append(batch, indexed{hash: h, loc: loc})
	}
	l.packMu.Unlock()

	var errs []error
	for _, w := range sealing {
		errs = append(errs, w.seal(l.noSync))
	}
	if curDirty && !l.noSync {
		// Only this goroutine syncs, and writes by others during the call
		// only make it cover more.
		if err := cur.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync pack %s: %w", packName(cur.id), err))
			l.packMu.Lock()
			if l.cur == cur {
				cur.dirty = true
			}
			l.packMu.Unlock()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	if len(batch) == 0 {
		return nil
	}
	if err := l.idx.insert(ctx, batch); err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	l.packMu.Lock()
	for _, b := range batch {
		if l.pending[b.hash] == b.loc {
			delete(l.pending, b.hash)
		}
	}
	l.packMu.Unlock()
	return nil
}

// Seal syncs like Sync and then closes this process's pack, so prune can
// compact it; the next Put starts a new pack. A snapshot run seals at its
// end.
func (l *Local) Seal(ctx context.Context) error {
	l.packMu.Lock()
	l.rotate()
	l.packMu.Unlock()
	return l.Sync(ctx)
}

// Close seals and closes the index. The Local must not be used after.
func (l *Local) Close() error {
	err := l.Seal(context.Background())
	return errors.Join(err, l.files.closeAll(), l.idx.close())
}

// readEntry reads buf, the start of blob h's entry at loc (its header or
// the whole entry), from f, and checks the header.
func readEntry(f *os.File, h Hash, loc location, buf []byte) error {
	if loc.length < packHeaderLen {
		return fmt.Errorf("%w: index gives an entry of %d bytes", ErrCorrupt, loc.length)
	}
	if _, err := f.ReadAt(buf, loc.offset); errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: pack %s ends inside the entry at %d", ErrCorrupt, packName(loc.pack), loc.offset)
	} else if err != nil {
		return err
	}
	return checkPackHeader(buf[:packHeaderLen], loc.size, h)
}

// openPacked opens the pack of blob h at loc and reads buf, the start of
// its entry, checking the header. A pack file found open that does not
// hold the entry (its id reused after a compaction) is dropped and the
// pack opened again. It returns fs.ErrNotExist, unwrapped, if the pack
// file is gone.
func (l *Local) openPacked(h Hash, loc location, buf []byte) (*packFile, error) {
	for attempt := 0; ; attempt++ {
		p, reused, err := l.files.get(loc.pack, l.packPath(loc.pack))
		if err != nil {
			return nil, err
		}
		err = readEntry(p.f, h, loc, buf)
		if err == nil {
			return p, nil
		}
		if reused {
			l.files.drop(loc.pack)
		}
		if rerr := p.release(); !reused || attempt > 0 {
			return nil, errors.Join(err, rerr)
		}
	}
}

// findPacked locates blob h and opens its pack, looking it up again if the
// pack disappeared in between (compacted). It reads the entry's header, or
// the whole entry into *whole if whole is not nil and the blob is at most
// wholeMax bytes (then read is true). ok is false if h is not packed.
func (l *Local) findPacked(ctx context.Context, h Hash, whole *[]byte) (p *packFile, loc location, ok, read bool, err error) {
	for attempt := 0; ; attempt++ {
		loc, ok, err := l.locate(ctx, h)
		if err != nil || !ok {
			return nil, location{}, false, false, err
		}
		var hdr [packHeaderLen]byte
		buf := hdr[:]
		if read = whole != nil && loc.size <= wholeMax && loc.length <= packHeaderLen+maxWholeFrame; read {
			*whole = slices.Grow((*whole)[:0], int(loc.length))[:loc.length]
			buf = *whole
		}
		p, err := l.openPacked(h, loc, buf)
		if errors.Is(err, fs.ErrNotExist) && attempt < 2 {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, location{}, false, false, fmt.Errorf("%w: pack %s is missing", ErrNotFound, packName(loc.pack))
		}
		if err != nil {
			return nil, location{}, false, false, err
		}
		return p, loc, true, read, nil
	}
}

// Location says where a stored blob is, for reports and tests.
type Location struct {
	Path   string // the loose file or the pack file
	Offset int64  // of the pack entry; 0 for a loose file
	Length int64  // of the pack entry or the loose file
	Packed bool
}

// Locate returns where blob h is stored, or an error wrapping ErrNotFound.
func (l *Local) Locate(ctx context.Context, h Hash) (Location, error) {
	loc, ok, err := l.locate(ctx, h)
	if err != nil {
		return Location{}, fmt.Errorf("locate blob %s: %w", h, err)
	}
	if ok {
		return Location{Path: l.packPath(loc.pack), Offset: loc.offset, Length: loc.length, Packed: true}, nil
	}
	fi, err := os.Lstat(l.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return Location{}, fmt.Errorf("locate blob %s: %w", h, ErrNotFound)
	}
	if err != nil {
		return Location{}, fmt.Errorf("locate blob %s: %w", h, err)
	}
	return Location{Path: l.path(h), Length: fi.Size()}, nil
}

package blobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// CompactResult says what Compact did.
type CompactResult struct {
	PacksDeleted   int   // packs that held no live blob
	PacksRewritten int   // packs whose live blobs were copied to a new pack
	BlobsMoved     int64 // live blobs copied
	BytesFreed     int64 // file bytes removed, net of the copies written
}

// compactDeadShare: a pack is rewritten when at least 1/compactDeadShare
// of its bytes are dead.
const compactDeadShare = 4

// rowGrace is how long a packs row may exist without its file before
// Compact forgets it: a writer in another process inserts the row just
// before it renames the file into place.
const rowGrace = time.Hour

// Compact frees the bytes of deleted packed blobs (see docs/design.md,
// "Deleting and compacting"). The caller must hold the catalog's
// blob-deletion lock, so that no snapshot stores blobs meanwhile; packs
// that a writer still holds locked are skipped anyway. A corrupt entry
// stops the rewrite of its pack, which is left as it was, and is reported
// in the returned error with the other failures; the other packs are still
// compacted. beat, if not nil, is called after each pack (prune refreshes
// its lock with it); its error stops the compaction.
func (l *Local) Compact(ctx context.Context, beat func(context.Context) error) (CompactResult, error) {
	var res CompactResult
	uses, err := l.idx.packUses(ctx)
	if err != nil {
		return res, fmt.Errorf("compact: %w", err)
	}
	known := map[int64]bool{}
	var errs []error
	for _, u := range uses {
		known[u.id] = true
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("compact: %w", err)
		}
		if err := l.compactPack(ctx, u, &res); err != nil {
			errs = append(errs, err)
		}
		if beat != nil {
			if err := beat(ctx); err != nil {
				return res, fmt.Errorf("compact: %w", errors.Join(append(errs, err)...))
			}
		}
	}
	if err := l.removeStrayPacks(ctx, known, &res); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("compact: %w", err)
	}
	return res, nil
}

// compactPack deletes or rewrites one pack if it is unlocked and dead
// enough.
func (l *Local) compactPack(ctx context.Context, u packUse, res *CompactResult) error {
	defer l.files.drop(u.id) // a pack removed is not kept open
	f, err := os.Open(l.packPath(u.id))
	if errors.Is(err, fs.ErrNotExist) {
		if u.liveEntries > 0 {
			return fmt.Errorf("pack %s is missing but holds %d blobs", packName(u.id), u.liveEntries)
		}
		return l.forgetMissing(ctx, u.id)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	ok, err := tryLock(f)
	if err != nil || !ok {
		return err // a writer holds it: not now
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	switch {
	case u.liveEntries == 0:
		dropped, err := l.idx.dropPack(ctx, u.id)
		if err != nil || !dropped { // a blob is in it again
			return err
		}
		return removePackFile(f, res)
	case (fi.Size()-u.live)*compactDeadShare < fi.Size():
		return nil
	}
	return l.rewritePack(ctx, f, u.id, fi.Size(), res)
}

// removePackFile removes the file of a pack the index no longer knows,
// open and locked as f, and counts it.
func removePackFile(f *os.File, res *CompactResult) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := os.Remove(f.Name()); err != nil {
		return err
	}
	res.PacksDeleted++
	res.BytesFreed += fi.Size()
	return nil
}

// forgetMissing drops the row of a pack that has neither a file nor blobs,
// once it is old enough that no writer can be about to create the file.
func (l *Local) forgetMissing(ctx context.Context, id int64) error {
	created, known, err := l.idx.packCreated(ctx, id)
	if err != nil || !known || l.clk.Now().Sub(created) < rowGrace {
		return err
	}
	_, err = l.idx.dropPack(ctx, id)
	return err
}

// rewritePack copies the live entries of pack id (open and locked as old)
// into a new pack, verifying each, then moves their index rows and removes
// the old file.
func (l *Local) rewritePack(ctx context.Context, old *os.File, id, oldSize int64, res *CompactResult) error {
	entries, err := l.idx.entriesOf(ctx, id)
	if err != nil {
		return err
	}
	w, err := l.createPack(ctx)
	if err != nil {
		return err
	}
	abandon := func(err error) error {
		// No index row names a blob in the new pack: remove it.
		_, derr := l.idx.dropPack(ctx, w.id)
		return errors.Join(err, w.f.Close(), os.Remove(l.packPath(w.id)), derr)
	}
	moved := make([]indexed, 0, len(entries))
	buf := make([]byte, 0, 64<<10)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return abandon(err)
		}
		if cap(buf) < int(e.loc.length) {
			buf = make([]byte, e.loc.length)
		}
		buf = buf[:e.loc.length]
		if _, err := old.ReadAt(buf, e.loc.offset); err != nil {
			return abandon(fmt.Errorf("pack %s: reading blob %s: %w", packName(id), e.hash, err))
		}
		if err := l.verifyEntry(buf, e); err != nil {
			return abandon(fmt.Errorf("pack %s: blob %s: %w", packName(id), e.hash, err))
		}
		if _, err := w.f.WriteAt(buf, w.size); err != nil {
			return abandon(fmt.Errorf("pack %s: %w", packName(w.id), err))
		}
		moved = append(moved, indexed{hash: e.hash, loc: location{pack: w.id, offset: w.size, length: e.loc.length, size: e.loc.size}})
		w.size += e.loc.length
		w.dirty = true
	}
	newSize := w.size
	if err := w.seal(l.noSync); err != nil {
		return errors.Join(err, os.Remove(l.packPath(w.id)))
	}
	if err := l.idx.move(ctx, id, moved); err != nil {
		return errors.Join(err, os.Remove(l.packPath(w.id)))
	}
	if err := os.Remove(old.Name()); err != nil {
		return fmt.Errorf("remove compacted pack: %w", err)
	}
	res.PacksRewritten++
	res.BlobsMoved += int64(len(moved))
	res.BytesFreed += oldSize - newSize
	return nil
}

// verifyEntry checks that entry, read whole from a pack, is blob e: header,
// size and hash of the decompressed bytes.
func (l *Local) verifyEntry(entry []byte, e indexed) error {
	if err := checkPackHeader(entry[:packHeaderLen], e.loc.size, e.hash); err != nil {
		return err
	}
	d, err := l.codec.getDecoder(bytes.NewReader(entry[packHeaderLen:]))
	if err != nil {
		return err
	}
	defer l.codec.putDecoder(d)
	hasher := sha256.New()
	n, err := io.Copy(hasher, d.dec)
	if err != nil {
		return fmt.Errorf("%w: decompress: %v", ErrCorrupt, err)
	}
	var got Hash
	hasher.Sum(got[:0])
	if n != e.loc.size || got != e.hash {
		return fmt.Errorf("%w: decompresses to %d bytes hashing to %s", ErrCorrupt, n, got)
	}
	return nil
}

// removeStrayPacks removes pack files that no packs row names and no writer
// holds: left by a compaction that died after moving the rows.
func (l *Local) removeStrayPacks(ctx context.Context, known map[int64]bool, res *CompactResult) error {
	entries, err := os.ReadDir(l.packs)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		id, ok := parsePackName(e.Name())
		if !ok || known[id] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		errs = append(errs, l.removeStray(ctx, id, res))
	}
	return errors.Join(errs...)
}

func (l *Local) removeStray(ctx context.Context, id int64, res *CompactResult) error {
	defer l.files.drop(id)
	f, err := os.Open(l.packPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if ok, err := tryLock(f); err != nil || !ok {
		return err
	}
	// Look again under the lock: a row created since the listing keeps it.
	if _, known, err := l.idx.packCreated(ctx, id); err != nil || known {
		return err
	}
	return removePackFile(f, res)
}

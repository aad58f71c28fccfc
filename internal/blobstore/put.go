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
	"path/filepath"
)

// tmpPattern names Put's temporary files in data_dir/tmp.
const tmpPattern = "blob-*.tmp"

// Put stores the bytes of r. A blob of at most PackMax bytes is read
// whole, compressed in memory and appended to this process's pack: it is
// durable after the next Sync. A larger one is streamed into a loose file
// (see the package documentation for the steps) and is durable when Put
// returns. If the blob exists already, Put leaves it as it is and returns
// Created false. If reading r fails or ctx ends, nothing is stored and the
// error is returned wrapped.
func (l *Local) Put(ctx context.Context, r io.Reader) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	bufp := l.codec.getSmallBuf()
	defer l.codec.putSmallBuf(bufp)
	n, err := readSmall(ctx, r, (*bufp)[:l.packMax+1])
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	if n <= l.packMax {
		return l.putPacked(ctx, (*bufp)[:n])
	}
	return l.putLoose(ctx, io.MultiReader(bytes.NewReader((*bufp)[:n]), r))
}

// readSmall reads r into buf until EOF or buf is full, checking ctx between
// reads, and returns the number of bytes read.
func readSmall(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("reading input after %d bytes: %w", n, err)
		}
	}
	return n, nil
}

// putLoose streams r into a new loose blob file.
func (l *Local) putLoose(ctx context.Context, r io.Reader) (Info, error) {
	f, err := l.createTemp()
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	info, err := l.codec.writeLoose(ctx, f, r, l.noSync)
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close temporary file: %w", cerr)
	}
	if err != nil {
		return Info{}, errors.Join(fmt.Errorf("put blob: %w", err), l.dropTemp(f.Name(), true))
	}
	created, err := l.install(f.Name(), info.Hash)
	// After a rename there is nothing to remove; otherwise remove the file.
	if derr := l.dropTemp(f.Name(), !created || err != nil); derr != nil || err != nil {
		if err != nil {
			err = fmt.Errorf("put blob %s: %w", info.Hash, err)
		}
		return Info{}, errors.Join(err, derr)
	}
	info.Created = created
	if !created {
		// Report the size of the blob that is stored, not of our copy.
		fi, err := os.Lstat(l.path(info.Hash))
		if err != nil {
			return Info{}, fmt.Errorf("put blob %s: %w", info.Hash, err)
		}
		info.StoredSize = fi.Size()
	}
	return info, nil
}

// createTemp creates a temporary file in data_dir/tmp and records it as being
// written, so CleanTmp leaves it alone.
func (l *Local) createTemp() (*os.File, error) {
	f, err := os.CreateTemp(l.tmp, tmpPattern)
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	l.mu.Lock()
	l.writing[filepath.Base(f.Name())] = true
	l.mu.Unlock()
	return f, nil
}

// dropTemp forgets the temporary file name and, if remove is set, removes
// it; removing a file that is gone is no error.
func (l *Local) dropTemp(name string, remove bool) error {
	l.mu.Lock()
	delete(l.writing, filepath.Base(name))
	l.mu.Unlock()
	if !remove {
		return nil
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove temporary file: %w", err)
	}
	return nil
}

// writeLoose writes the blob file for the bytes of r into f, returning the
// blob's Hash, Size and StoredSize. The file is then complete, read-only and
// (unless noSync) synced; the caller closes it.
func (c *codec) writeLoose(ctx context.Context, f *os.File, r io.Reader, noSync bool) (Info, error) {
	var hdr [headerLen]byte
	putHeader(&hdr, 0) // the raw size is filled in at the end
	if _, err := f.Write(hdr[:]); err != nil {
		return Info{}, fmt.Errorf("write temporary file: %w", err)
	}
	enc, err := c.getEncoder(f)
	if err != nil {
		return Info{}, err
	}
	defer c.putEncoder(enc)
	hasher := sha256.New()
	size, err := c.copyInput(ctx, io.MultiWriter(hasher, enc), r)
	if err != nil {
		return Info{}, err
	}
	if err := enc.Close(); err != nil {
		return Info{}, fmt.Errorf("compress: %w", err)
	}
	var info Info
	hasher.Sum(info.Hash[:0])
	info.Size = size
	putHeader(&hdr, size)
	if _, err := f.WriteAt(hdr[:], 0); err != nil {
		return Info{}, fmt.Errorf("write temporary file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("stat temporary file: %w", err)
	}
	info.StoredSize = fi.Size()
	if err := f.Chmod(blobPerm); err != nil {
		return Info{}, fmt.Errorf("chmod temporary file: %w", err)
	}
	if !noSync {
		if err := f.Sync(); err != nil {
			return Info{}, fmt.Errorf("sync temporary file: %w", err)
		}
	}
	return info, nil
}

// copyInput copies r to w until EOF, checking ctx between reads, and returns
// the number of bytes copied. Errors of r are wrapped as input errors.
func (c *codec) copyInput(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	bufp := c.getBuf()
	defer c.putBuf(bufp)
	buf := *bufp
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		nr, rerr := r.Read(buf)
		if nr > 0 {
			if _, err := w.Write(buf[:nr]); err != nil {
				return n, fmt.Errorf("compress: %w", err)
			}
			n += int64(nr)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("reading input after %d bytes: %w", n, rerr)
		}
	}
}

// install gives the complete temporary file tmpName the name of blob h,
// unless that exists, and syncs the directory. It reports whether it
// installed the file.
func (l *Local) install(tmpName string, h Hash) (bool, error) {
	if err := l.ensureDirs(h); err != nil {
		return false, err
	}
	final := l.path(h)
	created := true
	if err := renameNoReplace(tmpName, final); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return false, err
		}
		created = false
	}
	// Sync even if the blob existed: its writer may have died between its
	// rename and its directory sync.
	if !l.noSync {
		if err := syncDir(filepath.Dir(final)); err != nil {
			return false, err
		}
	}
	return created, nil
}

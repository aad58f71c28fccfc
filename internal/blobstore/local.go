package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/zstd"

	"mtm/internal/clock"
)

const (
	dirPerm  = 0o700
	blobPerm = 0o400 // read-only, the owner's alone: a blob file is never modified
)

// LocalOptions configure a Local store. The zero value is the production
// setting.
type LocalOptions struct {
	// Level is the zstd encoder level for new blobs; zero means
	// DefaultLevel. Blobs of any level can be read.
	Level zstd.EncoderLevel
	// NoSync skips every fsync. Blobs are then never durable: for tests
	// and the demo only.
	NoSync bool
	// Clock dates new packs; nil means the system clock.
	Clock clock.Clock
	// PackMax is the largest raw size put into a pack: zero means
	// PackMaxBlob, which is also the most it may be; negative puts every
	// blob into a loose file (for tests of that format).
	PackMax int
}

// Local is the Store in a local directory (see the package documentation
// for the format). It is safe for concurrent use, also by several processes
// sharing the directory.
type Local struct {
	dir    string // data_dir/blobs
	packs  string // data_dir/blobs/packs
	tmp    string // data_dir/tmp
	noSync bool
	codec  *codec
	idx    *index
	clk    clock.Clock
	// packMax is the largest raw size that goes into a pack, or -1.
	packMax int

	// syncMu serializes Sync, so a Sync returns only when every blob put
	// before it is durable, also those another Sync is recording.
	syncMu sync.Mutex
	// packMu guards the pack being written and the blobs not yet indexed.
	packMu  sync.Mutex
	cur     *packWriter       // nil until the first packed Put
	sealing []*packWriter     // full packs the next Sync seals
	pending map[Hash]location // packed but not yet in the index
	hints   hints[location]   // indexed, looked up ahead by Prefetch

	files *packFiles // packs kept open for reading

	mu sync.Mutex
	// durable holds the blob directories ("ab", "ab/cd") whose entries in
	// their parents this process has synced.
	durable map[string]bool
	// writing holds the names of temporary files being written by Put.
	writing map[string]bool
}

var _ Store = (*Local)(nil)

// OpenLocal opens the store in dir, which is data_dir/blobs; its temporary
// files go to data_dir/tmp, the sibling directory named tmp. Both are
// created if missing.
func OpenLocal(dir string, opts LocalOptions) (*Local, error) {
	level := opts.Level
	if level == 0 {
		level = DefaultLevel
	}
	c, err := newCodec(level)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	dir = filepath.Clean(dir)
	l := &Local{
		dir:     dir,
		packs:   filepath.Join(dir, "packs"),
		tmp:     filepath.Join(filepath.Dir(dir), "tmp"),
		noSync:  opts.NoSync,
		codec:   c,
		clk:     opts.Clock,
		pending: map[Hash]location{}, hints: newHints[location](),
		durable: map[string]bool{},
		writing: map[string]bool{},
	}
	if l.clk == nil {
		l.clk = clock.Real{}
	}
	l.files = newPackFiles(l.clk)
	switch l.packMax = opts.PackMax; {
	case l.packMax == 0:
		l.packMax = PackMaxBlob
	case l.packMax > PackMaxBlob:
		return nil, fmt.Errorf("open blob store %s: PackMax %d is over %d", dir, l.packMax, PackMaxBlob)
	case l.packMax < 0:
		l.packMax = -1
	}
	for _, d := range []string{l.dir, l.packs, l.tmp} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, fmt.Errorf("open blob store: %w", err)
		}
	}
	if !l.noSync {
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := syncDir(d); err != nil {
				return nil, fmt.Errorf("open blob store %s: %w", dir, err)
			}
		}
	}
	if l.idx, err = openIndex(context.Background(), filepath.Join(dir, "index.db"), l.noSync); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return l, nil
}

// Dir returns the blob directory, data_dir/blobs.
func (l *Local) Dir() string { return l.dir }

// TmpDir returns the directory of temporary files, data_dir/tmp.
func (l *Local) TmpDir() string { return l.tmp }

// relDirs returns the two directory names of blob h: "ab" and "cd".
func relDirs(h Hash) (string, string) {
	s := h.String()
	return s[0:2], s[2:4]
}

// path returns the file name of blob h.
func (l *Local) path(h Hash) string {
	s := h.String()
	return filepath.Join(l.dir, s[0:2], s[2:4], s)
}

// Has reports whether blob h exists.
func (l *Local) Has(ctx context.Context, h Hash) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("has blob %s: %w", h, err)
	}
	if _, ok, err := l.locate(ctx, h); err != nil || ok {
		if err != nil {
			return false, fmt.Errorf("has blob %s: %w", h, err)
		}
		return true, nil
	}
	_, err := os.Lstat(l.path(h))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("has blob %s: %w", h, err)
	}
}

// Stat returns the Info of blob h. Its Size is read from the file's header,
// never -1.
func (l *Local) Stat(ctx context.Context, h Hash) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("stat blob %s: %w", h, err)
	}
	if p, loc, ok, _, err := l.findPacked(ctx, h, nil); err != nil {
		return Info{}, fmt.Errorf("stat blob %s: %w", h, err)
	} else if ok {
		if err := p.release(); err != nil {
			return Info{}, fmt.Errorf("stat blob %s: %w", h, err)
		}
		return Info{Hash: h, Size: loc.size, StoredSize: loc.length}, nil
	}
	f, size, err := l.openFile(h)
	if err != nil {
		return Info{}, fmt.Errorf("stat blob %s: %w", h, err)
	}
	fi, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Info{}, fmt.Errorf("stat blob %s: %w", h, err)
	}
	return Info{Hash: h, Size: size, StoredSize: fi.Size()}, nil
}

// Delete removes blob h: the index row of a packed blob, whose bytes
// Compact frees later, or the file of a loose one. It does not sync the
// directory (see the package documentation) and leaves empty directories
// in place. A packed blob that is not yet indexed (not synced) is not
// found.
func (l *Local) Delete(ctx context.Context, h Hash) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
	l.forget(h)
	if removed, err := l.idx.remove(ctx, h); err != nil || removed {
		if err != nil {
			return fmt.Errorf("delete blob %s: %w", h, err)
		}
		return nil
	}
	err := os.Remove(l.path(h))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("delete blob %s: %w", h, ErrNotFound)
	default:
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
}

// List calls fn for every durable blob: the indexed packed ones, with
// their Size, then the loose ones, whose Size is -1 (reading every header
// would cost a file open per blob; use Stat). StoredSize is set. Files and
// directories that are not named like blobs are skipped.
func (l *Local) List(ctx context.Context, fn func(Info) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	if err := l.idx.list(ctx, func(b indexed) error {
		return fn(Info{Hash: b.hash, Size: b.loc.size, StoredSize: b.loc.length})
	}); err != nil {
		return err
	}
	tops, err := readHexDirs(l.dir)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, a := range tops {
		subs, err := readHexDirs(filepath.Join(l.dir, a))
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		for _, b := range subs {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("list blobs: %w", err)
			}
			if err := l.listLeaf(a, b, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// listLeaf calls fn for every blob in directory a/b.
func (l *Local) listLeaf(a, b string, fn func(Info) error) error {
	entries, err := os.ReadDir(filepath.Join(l.dir, a, b))
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, e := range entries {
		h, err := ParseHash(e.Name())
		if err != nil || !e.Type().IsRegular() || e.Name() != h.String() || e.Name()[0:4] != a+b {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		if err := fn(Info{Hash: h, Size: -1, StoredSize: fi.Size()}); err != nil {
			return err
		}
	}
	return nil
}

// readHexDirs returns the names of the subdirectories of dir that are two
// lowercase hex digits.
func readHexDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && isHex2(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func isHex2(s string) bool {
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
	return len(s) == 2 && isHex(s[0]) && isHex(s[1])
}

// ensureDirs creates the directories of blob h as needed. The first time
// this process uses a directory, it syncs the directory's parent, whether or
// not it created it: a writer that died may have created it without syncing.
func (l *Local) ensureDirs(h Hash) error {
	a, b := relDirs(h)
	parent, rel := l.dir, ""
	for _, name := range []string{a, b} {
		rel = path.Join(rel, name)
		dir := filepath.Join(parent, name)
		if !l.isDurable(rel) {
			if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create blob directory: %w", err)
			}
			if !l.noSync {
				if err := syncDir(parent); err != nil {
					return err
				}
			}
			l.setDurable(rel)
		}
		parent = dir
	}
	return nil
}

func (l *Local) isDurable(rel string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable[rel]
}

func (l *Local) setDurable(rel string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.durable[rel] = true
}

package blobstore

import (
	"errors"
	"os"
	"sync"
	"time"

	"mtm/internal/clock"
)

// Open packs (see docs/design.md, "Packs kept open").
const (
	// maxOpenPacks bounds the pack files kept open for reading.
	maxOpenPacks = 16
	// packIdle is how long an unused pack file stays open: a pack that
	// another process compacted away keeps its disk space while it is open.
	packIdle = 30 * time.Second
)

// packFiles keeps the packs read last open, so that reading a folder's
// messages one after another costs no open and close of a file per
// message. A file stays valid after its pack is compacted away (packs are
// never written in place), and a pack id reused since is caught by the
// entry header every read checks: a reader drops a cached file whose
// header does not match and reads again from a fresh one.
type packFiles struct {
	clk  clock.Clock
	mu   sync.Mutex
	open map[int64]*packFile // by pack id
}

// packFile is an open pack, shared by its readers.
type packFile struct {
	c    *packFiles
	id   int64
	f    *os.File
	refs int       // readers holding it; guarded by c.mu
	used time.Time // when last handed out
	gone bool      // out of the cache: closed when refs reaches 0
}

func newPackFiles(clk clock.Clock) *packFiles {
	return &packFiles{clk: clk, open: map[int64]*packFile{}}
}

// get returns pack id's file, opening path if it is not open, for reading;
// reused says it was open already. Release gives it back. It returns
// fs.ErrNotExist, unwrapped, if the file is gone.
func (c *packFiles) get(id int64, path string) (p *packFile, reused bool, err error) {
	now := c.clk.Now()
	c.mu.Lock()
	c.sweep(now)
	if p, ok := c.open[id]; ok {
		p.refs++
		p.used = now
		c.mu.Unlock()
		return p, true, nil
	}
	c.mu.Unlock()
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	p = &packFile{c: c, id: id, f: f, refs: 1, used: now}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.open) >= maxOpenPacks {
		c.evictOne()
	}
	if _, taken := c.open[id]; taken || len(c.open) >= maxOpenPacks {
		p.gone = true // not cached: closed by its release
	} else {
		c.open[id] = p
	}
	return p, false, nil
}

// release gives back a file of get.
func (p *packFile) release() error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.refs--
	if p.gone && p.refs == 0 {
		return p.f.Close()
	}
	return nil
}

// Close releases the file, for a blob reader's body.
func (p *packFile) Close() error { return p.release() }

// drop takes pack id's file out of the cache, closing it once no reader
// holds it: its pack was removed, or a read found it stale.
func (c *packFiles) drop(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.open[id]; ok {
		c.retire(p)
	}
}

// closeAll takes every file out of the cache; those no reader holds are
// closed now, the others by their last release.
func (c *packFiles) closeAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, p := range c.open {
		errs = append(errs, c.retire(p))
	}
	return errors.Join(errs...)
}

// sweep retires the files unused for packIdle. c.mu must be held.
func (c *packFiles) sweep(now time.Time) {
	for _, p := range c.open {
		if p.refs == 0 && now.Sub(p.used) >= packIdle {
			_ = c.retire(p) // a close error of a read-only file loses nothing
		}
	}
}

// evictOne retires the least recently used file no reader holds, if any.
// c.mu must be held.
func (c *packFiles) evictOne() {
	var lru *packFile
	for _, p := range c.open {
		if p.refs == 0 && (lru == nil || p.used.Before(lru.used)) {
			lru = p
		}
	}
	if lru != nil {
		_ = c.retire(lru)
	}
}

// retire takes p out of the cache and closes it if no reader holds it.
// c.mu must be held.
func (c *packFiles) retire(p *packFile) error {
	delete(c.open, p.id)
	p.gone = true
	if p.refs == 0 {
		return p.f.Close()
	}
	return nil
}

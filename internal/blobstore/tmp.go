package blobstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CleanTmp removes the temporary files of Put (data_dir/tmp/blob-*.tmp and
// pack-*.tmp, a pack whose creation was interrupted) last
// modified before olderThan, except those this Local is writing. A writer
// modifies its file as it streams, so an old file belongs to a dead writer;
// design.md allows removing files older than one hour, so callers pass
// now minus at least an hour. Other files in data_dir/tmp are left alone:
// they belong to other packages.
func (l *Local) CleanTmp(olderThan time.Time) error {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return fmt.Errorf("clean %s: %w", l.tmp, err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !isTmpName(name) || l.isWriting(name) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.ModTime().Before(olderThan) {
			continue
		}
		if err := os.Remove(filepath.Join(l.tmp, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean %s: %w", l.tmp, err)
	}
	return nil
}

// isTmpName reports whether name matches tmpPattern or packTmpPattern.
func isTmpName(name string) bool {
	for _, p := range []string{tmpPattern, packTmpPattern} {
		if ok, err := filepath.Match(p, name); ok && err == nil {
			return true
		}
	}
	return false
}

func (l *Local) isWriting(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writing[name]
}

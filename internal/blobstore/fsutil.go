package blobstore

import (
	"errors"
	"fmt"
	"os"
)

// syncDir fsyncs directory dir, making the entries in it durable.
func syncDir(dir string) (err error) {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("sync directory: %w", cerr)
		}
	}()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// linkNoReplace gives the file at oldpath the name newpath and removes
// oldpath, failing with an error satisfying errors.Is(err, fs.ErrExist) if
// newpath exists. It is the portable fallback of renameNoReplace: link(2)
// never replaces.
func linkNoReplace(oldpath, newpath string) error {
	if err := os.Link(oldpath, newpath); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: le.Err}
		}
		return err
	}
	return os.Remove(oldpath)
}

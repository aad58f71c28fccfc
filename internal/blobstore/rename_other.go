//go:build !linux

package blobstore

// renameNoReplace renames oldpath to newpath, failing with an error
// satisfying errors.Is(err, fs.ErrExist) if newpath exists.
func renameNoReplace(oldpath, newpath string) error {
	return linkNoReplace(oldpath, newpath)
}

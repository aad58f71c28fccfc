//go:build !unix

package blobstore

import (
	"errors"
	"os"
)

// tryLock is not available here: pack writers cannot tell each other apart,
// so no pack is ever compacted.
func tryLock(f *os.File) (bool, error) {
	return false, errors.New("flock is not supported on this platform")
}

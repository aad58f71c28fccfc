// Package blobstore stores message bytes: content-addressed, compressed and
// written once.
//
// A blob is the exact bytes of one message, addressed by the SHA-256 of those
// bytes (a [Hash]). [Store] is the interface every back-end implements; every
// back-end must pass the shared suite in package blobstoretest. [Local] is the
// back-end for a local directory.
//
// # On-disk format of the local back-end
//
// The store lives in data_dir/blobs and writes its temporary files in
// data_dir/tmp, which must be on the same file system:
//
//	data_dir/blobs/ab/cd/abcd…(64 lowercase hex digits)   one file per blob
//	data_dir/tmp/blob-*.tmp                               blobs being written
//
// The file name is the lowercase hex SHA-256 of the uncompressed bytes; its
// first two and next two hex digits name the two directories (mode 0o750,
// created on demand). A blob file has mode 0o440: it is never opened for
// writing once it has its name. Its content is two zstd frames (RFC 8878):
//
//  1. A 16-byte skippable frame that records the raw size, so that Stat need
//     not decompress: magic 0x184D2A5B (bytes 5B 2A 4D 18), frame size 8
//     (bytes 08 00 00 00), then the raw size as an unsigned 64-bit
//     little-endian integer. Readers reject any other magic or frame size.
//  2. One zstd frame with a content checksum whose decompressed content is the
//     exact message bytes (empty content is a frame too).
//
// Any zstd decoder skips the first frame, so `zstd -dc FILE | sha256sum`
// prints the file's name. Readers of this package also check the raw size and
// the SHA-256 of what they decompress (see [Local.Open] and [Local.Verify]).
//
// # Writing
//
// Put streams its input through SHA-256 and a zstd encoder into a new file in
// tmp, fills in the raw size, makes the file read-only, fsyncs it, and renames
// it to its final name without replacing: if that name exists the temporary
// file is removed, as the existing blob holds the same bytes by construction.
// It then fsyncs the blob's directory. The first time a process uses a blob
// directory it also fsyncs that directory's parents, so a directory created by
// a writer that died before syncing it cannot lose its entry. When Put
// returns, the blob is durable; only then may the catalog name its hash.
//
// Only prune deletes blobs. Delete does not fsync the directory: a deletion
// lost in a crash leaves an unreferenced blob that the next prune removes.
// Empty directories are left in place.
//
// Files in tmp belong to writers that are running or dead; [Local.CleanTmp]
// removes those of dead writers.
package blobstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Hash is the SHA-256 of a blob's exact (uncompressed) bytes.
type Hash [32]byte

// String returns h in lowercase hex, the form used in file names.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash parses 64 hex digits (either case) into a Hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return Hash{}, fmt.Errorf("parse hash %q: want %d hex digits, have %d", s, 2*len(h), len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("parse hash %q: %w", s, err)
	}
	return h, nil
}

// ErrNotFound is returned, wrapped with the hash, by Open, Stat, Verify and
// Delete when the blob does not exist. Test for it with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrCorrupt is returned, wrapped with the hash and what is wrong, when a
// stored blob does not decode to bytes of its hash and size. Test for it with
// errors.Is.
var ErrCorrupt = errors.New("corrupt")

// Info describes a stored blob.
type Info struct {
	Hash Hash
	// Size is the raw (uncompressed) size in bytes, or -1 where the method
	// says it may be unknown.
	Size int64
	// StoredSize is the size the blob takes in the store (on disk, after
	// compression and including framing).
	StoredSize int64
	// Created is set by Put: true if this call stored the blob, false if it
	// existed already.
	Created bool
}

// Store is content-addressed, write-once storage of message bytes. Every
// back-end implements it and passes blobstoretest.Run. Implementations are
// safe for concurrent use.
type Store interface {
	// Put stores the bytes read from r until EOF and returns their Info.
	// It streams: the input is never held in memory whole. When it returns
	// nil, the blob is durable. If reading r fails or ctx ends, nothing is
	// left behind and the error is returned wrapped.
	Put(ctx context.Context, r io.Reader) (Info, error)
	// Open returns the exact bytes of blob h, streaming. The reader checks
	// the size and hash at EOF and returns an error wrapping ErrCorrupt
	// instead of io.EOF if they do not match. ctx is checked on every Read.
	Open(ctx context.Context, h Hash) (io.ReadCloser, error)
	// Has reports whether blob h exists.
	Has(ctx context.Context, h Hash) (bool, error)
	// Stat returns the Info of blob h. Size is -1 if the back-end cannot
	// tell it without decompressing; the local back-end always can.
	Stat(ctx context.Context, h Hash) (Info, error)
	// Delete removes blob h. Only prune uses it.
	Delete(ctx context.Context, h Hash) error
	// List calls fn for every blob, in no particular order, and stops at
	// the first error fn returns, which List returns unchanged. Info.Size
	// may be -1. Blobs put or deleted during List may or may not be seen.
	List(ctx context.Context, fn func(Info) error) error
}

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
// docs/design.md ("Data directory layout") specifies it; in short:
//
//	data_dir/blobs/index.db                  SQLite: hash → pack, offset, length, size
//	data_dir/blobs/packs/<16 hex>.pack       entries of blobs up to PackMaxBlob bytes
//	data_dir/blobs/ab/cd/abcd…(64 hex)       one loose file per larger blob
//	data_dir/tmp/blob-*.tmp, pack-*.tmp      files being written
//
// A loose file is a 16-byte zstd skippable frame holding the raw size
// (magic 0x184D2A5B, frame size 8, u64 little-endian), then one zstd frame
// with content checksum of the exact bytes. A pack entry is a 48-byte
// skippable frame holding the raw size and the SHA-256 (magic 0x184D2A5C,
// frame size 40), then one such zstd frame. Any zstd decoder skips the
// skippable frames, so `zstd -dc FILE` prints the message(s). Readers check
// the header against the index and, at EOF, the size and SHA-256 of what
// they decompressed (see [Local.Open] and [Local.Verify]).
//
// # Writing
//
// A small blob is compressed in memory and appended to the pack this
// process holds locked (flock); [Local.Sync] fsyncs the packs written since
// the last Sync and then commits their index rows. A large blob is streamed
// into tmp, fsynced, renamed to its final name without replacing (if that
// exists the temporary file is removed: it holds the same bytes by
// construction) and its directory fsynced; the first time a process uses a
// blob directory it also fsyncs that directory's parents. Only after Put
// and Sync may the catalog name a hash.
//
// Only prune deletes blobs: Delete drops a packed blob's index row or
// removes a loose file, and [Local.Compact] rewrites packs that are mostly
// dead. Delete does not fsync: a deletion lost in a crash leaves an
// unreferenced blob that the next prune removes. Empty directories are
// left in place.
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
	// Memory stays bounded whatever the input's size. The blob is readable
	// at once through this Store and durable once Sync returns. If reading
	// r fails or ctx ends, nothing is stored and the error is returned
	// wrapped.
	Put(ctx context.Context, r io.Reader) (Info, error)
	// PutAll stores each of blobs as Put would and returns their Infos in
	// order, looking the small ones up together rather than one by one.
	// On an error, what was stored before it stays, unnamed.
	PutAll(ctx context.Context, blobs [][]byte) ([]Info, error)
	// Sync makes every blob Put so far durable. Only then may the catalog
	// name them.
	Sync(ctx context.Context) error
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

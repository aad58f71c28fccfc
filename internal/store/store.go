// Package store opens a data directory: the catalog (catalog.db) and the
// blob store (blobs/) that every command, `mtm serve` and the demo work on,
// laid out as docs/design.md, "Data directory layout" specifies. It is the
// one place that knows where in data_dir each part lives, so that another
// back-end of either part is chosen here.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// Options say which data directory to open, and how.
type Options struct {
	DataDir  string
	Clock    clock.Clock    // the catalog's clock; default the real one
	Location *time.Location // of snapshot days; default UTC
	// Owner names this process in the catalog's running rows; default
	// host:pid:random (catalog.Options.Owner).
	Owner string
	// NoSync skips fsync of blobs (the demo's throw-away history only).
	NoSync bool
	// Migrate says what opening does with the catalog's pending
	// migrations (catalog.Options.Migrate).
	Migrate catalog.MigratePolicy
}

// Store is an open data directory.
type Store struct {
	Catalog *catalog.DB
	Blobs   *blobstore.Local
}

// Open creates the data directory if it is missing and opens its blob
// store and catalog.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	blobs, err := blobstore.OpenLocal(filepath.Join(o.DataDir, "blobs"), blobstore.LocalOptions{NoSync: o.NoSync})
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Open(ctx, filepath.Join(o.DataDir, "catalog.db"),
		catalog.Options{Clock: o.Clock, Location: o.Location, Owner: o.Owner, Migrate: o.Migrate})
	if err != nil {
		return nil, errors.Join(err, blobs.Close())
	}
	return &Store{Catalog: cat, Blobs: blobs}, nil
}

// Close closes the catalog and the blob store (sealing its open pack).
func (s *Store) Close() error { return errors.Join(s.Catalog.Close(), s.Blobs.Close()) }

// InspectCatalog says where the data directory's catalog schema stands,
// without changing or creating anything (`mtm config check`).
func InspectCatalog(ctx context.Context, dataDir string) (catalog.SchemaStatus, error) {
	return catalog.Inspect(ctx, filepath.Join(dataDir, "catalog.db"))
}

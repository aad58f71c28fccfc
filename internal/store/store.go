// Package store opens a data directory: the catalog (catalog.db, or a
// PostgreSQL database) and the blob store (blobs/) that every command,
// `mtm serve` and the demo work on, laid out as docs/design.md, "Data
// directory layout" specifies. It is the one place that knows where each
// part lives, so that another back-end of either part is chosen here.
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
	// CatalogURL, if set, puts the catalog in that PostgreSQL database
	// ([catalog] url) instead of DataDir; MaxConnections bounds its pool.
	CatalogURL     string
	MaxConnections int
	// S3, if its URL is set, puts the blobs in S3-compatible object storage
	// ([blobs] url) instead of DataDir/blobs; their index is then in the
	// catalog.
	S3 S3Options
}

// Store is an open data directory.
type Store struct {
	Catalog *catalog.DB
	Blobs   Blobs
}

// Blobs is what mtm uses of a blob store, whichever back-end keeps it.
type Blobs interface {
	blobstore.Store
	// Seal makes what is gathered durable and lets go of the open pack.
	Seal(ctx context.Context) error
	// Compact frees the space of deleted blobs (prune, holding the
	// catalog's blob-deletion lock).
	Compact(ctx context.Context, beat func(context.Context) error) (blobstore.CompactResult, error)
	Close() error
}

// Open creates the data directory if it is missing and opens its blob
// store and catalog.
func Open(ctx context.Context, o Options) (*Store, error) {
	// The data directory holds every account's mail and the catalog: its
	// owner's alone (0700), whatever the umask.
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	copts := catalog.Options{Clock: o.Clock, Location: o.Location, Owner: o.Owner, Migrate: o.Migrate}
	var cat *catalog.DB
	var err error
	if o.CatalogURL != "" {
		cat, err = catalog.OpenPostgres(ctx, o.CatalogURL, o.MaxConnections, copts)
	} else {
		cat, err = catalog.Open(ctx, filepath.Join(o.DataDir, "catalog.db"), copts)
	}
	if err != nil {
		return nil, err
	}
	var blobs Blobs
	if o.S3.URL != "" {
		blobs, err = openS3(ctx, o, cat)
	} else {
		blobs, err = blobstore.OpenLocal(filepath.Join(o.DataDir, "blobs"), blobstore.LocalOptions{NoSync: o.NoSync})
	}
	if err != nil {
		return nil, errors.Join(err, cat.Close())
	}
	return &Store{Catalog: cat, Blobs: blobs}, nil
}

// Close closes the blob store (sealing its open pack) and the catalog.
func (s *Store) Close() error { return errors.Join(s.Blobs.Close(), s.Catalog.Close()) }

// InspectCatalog says where the catalog's schema stands, in the data
// directory or, with url, in PostgreSQL, without changing or creating
// anything (`mtm config check`).
func InspectCatalog(ctx context.Context, dataDir, url string) (catalog.SchemaStatus, error) {
	if url != "" {
		return catalog.InspectPostgres(ctx, url)
	}
	return catalog.Inspect(ctx, filepath.Join(dataDir, "catalog.db"))
}

package catalog_test

import (
	"context"
	"path/filepath"
	"testing"

	"mtm/internal/catalog"
	"mtm/internal/catalog/catalogtest"
)

// TestContract runs the catalog's contract suite against SQLite.
func TestContract(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) catalogtest.Store {
		path := filepath.Join(t.TempDir(), "catalog.db")
		return func(t *testing.T, o catalog.Options) catalog.Catalog {
			t.Helper()
			db, err := catalog.Open(context.Background(), path, o)
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	})
}

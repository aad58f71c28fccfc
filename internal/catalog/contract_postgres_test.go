package catalog_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"mtm/internal/catalog"
	"mtm/internal/catalog/catalogtest"
	"mtm/internal/testenv/postgres"
)

// TestContractPostgres runs the catalog's contract suite against a real
// PostgreSQL: a cluster for the run, a database for each test, owned by a
// role of its own that is no superuser, as in production.
func TestContractPostgres(t *testing.T) {
	pg := postgres.Start(t)
	catalogtest.Run(t, func(t *testing.T) catalogtest.Store {
		url := pg.OwnedDatabase(t, "mtm", "secret")
		return func(t *testing.T, o catalog.Options) catalog.Catalog {
			t.Helper()
			db, err := catalog.OpenPostgres(context.Background(), url, 8, o)
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	})
}

// TestPostgresMigratesOnce: nodes opening a new PostgreSQL catalog at
// once apply each migration once (they take turns on an advisory lock).
func TestPostgresMigratesOnce(t *testing.T) {
	pg := postgres.Start(t)
	ctx := context.Background()
	url := pg.Database(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := catalog.OpenPostgres(ctx, url, 2, catalog.Options{})
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx) //nolint:errcheck // test
	var n, v int
	if err := c.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &v); err != nil || n != v || n < 1 {
		t.Errorf("schema_migrations: %d rows up to version %d, %v", n, v, err)
	}
}

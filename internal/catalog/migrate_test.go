package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func migrationRows(t *testing.T, c *DB) []string {
	t.Helper()
	rows, err := c.r.QueryContext(context.Background(), `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := scanAll(rows, func(r *sql.Rows) (s string, err error) { return s, r.Scan(&s) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrationsOfANewCatalog: a new catalog applies every migration and
// records each.
func TestMigrationsOfANewCatalog(t *testing.T) {
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() //nolint:errcheck // test
	if got := migrationRows(t, c); len(got) != len(c.migrations) || got[0] != "1 0001_schema.sql" {
		t.Errorf("schema_migrations: %q", got)
	}
	if p, err := c.Pending(ctx); err != nil || len(p) != 0 {
		t.Errorf("pending after open: %v, %v", p, err)
	}
}

// TestFirstReleaseCatalogIsAdopted: a data directory written by the first
// release (commit b6e5d47, before migrations; testdata/release1) opens:
// migration 1 is recorded as adopted, later ones are applied (migration 2
// gives its rows their account), and everything in it is intact.
func TestFirstReleaseCatalogIsAdopted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", "testdata/release1/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the fixture: %v %s", err, out)
	}
	// Without auto-migration it is refused: migration 2 is pending.
	if _, err := Open(ctx, filepath.Join(dir, "catalog.db"), Options{Migrate: RefusePending}); !errors.Is(err, ErrMigrationsPending) {
		t.Fatalf("opening without auto-migration: %v", err)
	}
	c, err := Open(ctx, filepath.Join(dir, "catalog.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() //nolint:errcheck // test
	if got := migrationRows(t, c); len(got) != len(c.migrations) || got[0] != "1 adopted: 0001_schema.sql" ||
		got[1] != "2 0002_account_keys.sql" {
		t.Errorf("schema_migrations: %q", got)
	}
	var unset int
	if err := c.r.QueryRowContext(ctx, `SELECT count(*) FROM entries WHERE account_id = 0`).Scan(&unset); err != nil || unset != 0 {
		t.Errorf("entries without their account after migration 2: %d, %v", unset, err)
	}
	if bad, err := c.Inconsistencies(ctx); err != nil || len(bad) != 0 {
		t.Errorf("the adopted catalog: %q, %v", bad, err)
	}
	acct, err := c.LookupAccount(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := c.Snapshots(ctx, acct)
	if err != nil || len(snaps) != 2 || snaps[1].Messages != 2 {
		t.Fatalf("alice's snapshots: %+v, %v", snaps, err)
	}
	if hits, _, err := c.Search(ctx, snaps[1], 0, "kiwi", SortDate, 10); err != nil || len(hits) != 1 {
		t.Errorf("search in the adopted catalog: %v, %v", hits, err)
	}
	if rs, err := c.Restores(ctx, acct, RestorePending); err != nil || len(rs) != 1 {
		t.Errorf("the pending restore: %+v, %v", rs, err)
	}
}

// TestNewerSchemaIsRefused: a catalog migrated by a newer mtm is not
// opened, with an error that says so.
func TestNewerSchemaIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.w.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES(99, '0099_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path, Options{})
	if !errors.Is(err, ErrSchemaNewer) || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), "upgrade mtm") {
		t.Errorf("opening a newer catalog: %v", err)
	}
}

// TestConcurrentMigrationsApplyEachStepOnce: a pending migration is
// refused without auto-migration, and two processes migrating at once
// apply it once (it would fail the second time).
func TestConcurrentMigrationsApplyEachStepOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	first, err := loadMigrations(embeddedMigrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, path, Options{migrations: first})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	onceName := fmt.Sprintf("%04d_once.sql", len(first)+1)
	next := append(first, Migration{Version: len(first) + 1, Name: onceName,
		sql: `CREATE TABLE once (x INTEGER); INSERT INTO once VALUES (1);`})
	if _, err := Open(ctx, path, Options{Migrate: RefusePending, migrations: next}); !errors.Is(err, ErrMigrationsPending) {
		t.Fatalf("opening with a pending migration and no auto-migration: %v", err)
	}
	var dbs []*DB
	for range 4 {
		db, err := Open(ctx, path, Options{Migrate: RefusePending, migrations: next[:len(first)]})
		if err != nil {
			t.Fatal(err)
		}
		db.migrations = next // as a newer binary would
		dbs = append(dbs, db)
	}
	var wg sync.WaitGroup
	applied := make([]int, len(dbs))
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms, err := db.Migrate(ctx)
			applied[i], errs[i] = len(ms), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range dbs {
		if errs[i] != nil {
			t.Errorf("migrate %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if total != 1 {
		t.Errorf("the migration was applied %d times", total)
	}
	var n int
	if err := dbs[0].r.QueryRowContext(ctx, `SELECT count(*) FROM once`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows of the migration: %d, %v", n, err)
	}
	for _, db := range dbs {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	}
	c, err = Open(ctx, path, Options{Migrate: RefusePending, migrations: next})
	if err != nil {
		t.Fatalf("opening the migrated catalog: %v", err)
	}
	if got := migrationRows(t, c); len(got) != len(next) || got[len(first)] != fmt.Sprintf("%d %s", len(next), onceName) {
		t.Errorf("schema_migrations: %q", got)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

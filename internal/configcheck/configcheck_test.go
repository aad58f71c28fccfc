package configcheck

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"mtm/internal/config"
	"mtm/internal/store"
	"mtm/internal/testenv/postgres"
)

// TestCatalogSummary: config check says whether the catalog exists, is up
// to date, or is newer than the binary, and changes nothing.
func TestCatalogSummary(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if s, p := catalogSummary(ctx, cfg); !strings.HasPrefix(s, "none yet") || p != "" {
		t.Errorf("no catalog: %q, %q", s, p)
	}
	if s, _ := catalogSummary(ctx, cfg); !strings.HasPrefix(s, "none yet") {
		t.Errorf("config check created the catalog: %q", s)
	}
	st, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if s, p := catalogSummary(ctx, cfg); !strings.Contains(s, "(up to date)") || p != "" {
		t.Errorf("a new catalog: %q, %q", s, p)
	}
	db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES(42, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, p := catalogSummary(ctx, cfg); s != "schema version 42" || !strings.Contains(p, "newer than this mtm") {
		t.Errorf("a newer catalog: %q, %q", s, p)
	}
}

// TestCatalogSummaryPostgres: with a PostgreSQL url, config check connects
// and says whether the database is reachable and at which schema version,
// without the password.
func TestCatalogSummaryPostgres(t *testing.T) {
	ctx := context.Background()
	pg := postgres.Start(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Catalog.URL = strings.Replace(pg.Database(t), "postgres@", "postgres:hidden-pw@", 1)
	if s, p := catalogSummary(ctx, cfg); !strings.Contains(s, "reachable, no schema yet") || p != "" ||
		strings.Contains(s, "hidden-pw") {
		t.Errorf("a new database: %q, %q", s, p)
	}
	st, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, CatalogURL: cfg.Catalog.URL, MaxConnections: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if s, p := catalogSummary(ctx, cfg); !strings.Contains(s, "(up to date)") || p != "" || strings.Contains(s, "hidden-pw") {
		t.Errorf("a migrated database: %q, %q", s, p)
	}
	cfg.Catalog.URL = "postgres://postgres:hidden-pw@127.0.0.1:1/mtm?connect_timeout=5"
	if s, p := catalogSummary(ctx, cfg); s != "unreachable" || !strings.HasPrefix(p, "catalog.url: ") ||
		strings.Contains(p, "hidden-pw") {
		t.Errorf("an unreachable database: %q, %q", s, p)
	}
}

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

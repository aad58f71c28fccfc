package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mtm/internal/testenv/postgres"
)

// TestCatalogOnPostgres: with [catalog] url (here MTM_CATALOG_URL) the
// commands keep the catalog in PostgreSQL: a new database needs `mtm
// migrate` (auto_migrate defaults to false there), then admins are added
// and listed in it; the password never shows.
func TestCatalogOnPostgres(t *testing.T) {
	t.Parallel()
	pg := postgres.Start(t)
	url := strings.Replace(pg.Database(t), "postgres@", "postgres:pw-never-shown@", 1) // trust auth ignores it
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mtm.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\n", filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	mtm := func(stdin string, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
			getenv: []string{"MTM_CATALOG_URL=" + url}}
		code := run(context.Background(), env, append(args, "--config", cfg))
		return code, out.String() + errOut.String()
	}
	if code, out := mtm("", "admin", "list"); code == 0 || !strings.Contains(out, "mtm migrate") {
		t.Errorf("a command on a new PostgreSQL catalog: exit %d\n%s", code, out)
	}
	if code, out := mtm("", "migrate", "--dry-run"); code != 0 || !strings.Contains(out, "pending: 1 0001_schema.sql") {
		t.Errorf("migrate --dry-run: exit %d\n%s", code, out)
	}
	if code, out := mtm("", "migrate"); code != 0 || !strings.Contains(out, "applied: 1 0001_schema.sql") {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	if code, out := mtm("a long enough password\n", "admin", "add", "--email", "boss@example.com"); code != 0 {
		t.Fatalf("admin add: exit %d\n%s", code, out)
	}
	code, out := mtm("", "admin", "list")
	if code != 0 || !strings.Contains(out, "boss@example.com") {
		t.Errorf("admin list: exit %d\n%s", code, out)
	}
	if code, out := mtm("", "check"); code != 0 || !strings.Contains(out, "no problems found") {
		t.Errorf("check: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"admin", "list"}, {"migrate"}, {"check"}} {
		if _, out := mtm("", args...); strings.Contains(out, "pw-never-shown") {
			t.Errorf("%v shows the password:\n%s", args, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "catalog.db")); !os.IsNotExist(err) {
		t.Errorf("a catalog.db was made in data_dir: %v", err)
	}
}

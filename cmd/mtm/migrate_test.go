package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"mtm/internal/testenv/postgres"
)

// TestFirstReleaseDataDirectory: a data directory written by the first
// release (commit b6e5d47, before versioned migrations) opens with this
// mtm (migration 1 adopted), `mtm migrate` applies the later ones, and it
// passes `mtm check --read-data` and lists its snapshots; `mtm migrate`
// then has nothing to do.
func TestFirstReleaseDataDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "../../internal/catalog/testdata/release1/.", data).CombinedOutput(); err != nil {
		t.Fatalf("copying the fixture: %v %s", err, out)
	}
	cfg := filepath.Join(dir, "mtm.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\ntimezone = \"Europe/Rome\"\n", data)), 0o600); err != nil {
		t.Fatal(err)
	}
	mtm := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: []string{}}
		code := run(context.Background(), env, append([]string{args[0], "--config", cfg}, args[1:]...))
		return code, out.String() + errOut.String()
	}
	if code, out := mtm("migrate", "--dry-run"); code != 0 || !strings.Contains(out, "pending: 2 0002_account_keys.sql") ||
		!strings.Contains(out, "nothing changed") {
		t.Errorf("migrate --dry-run of the first release's catalog: exit %d\n%s", code, out)
	}
	if code, out := mtm("migrate"); code != 0 || !strings.Contains(out, "applied: 2 0002_account_keys.sql") {
		t.Errorf("migrate of the first release's catalog: exit %d\n%s", code, out)
	}
	if code, out := mtm("check", "--read-data"); code != 0 || !strings.Contains(out, "no problems found") {
		t.Errorf("check: exit %d\n%s", code, out)
	}
	code, out := mtm("snapshots", "--account", "alice@example.com")
	if code != 0 || strings.Count(out, "committed") != 2 || !strings.Contains(out, "2026-11-21") ||
		!strings.Contains(out, "2026-11-22") {
		t.Errorf("snapshots: exit %d\n%s", code, out)
	}
	if code, out := mtm("migrate"); code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("migrate: exit %d\n%s", code, out)
	}
}

// TestTwoMigratesAtOnce: two `mtm migrate` started at once on a new
// catalog, embedded and on PostgreSQL, apply each migration once between
// them, and both succeed.
func TestTwoMigratesAtOnce(t *testing.T) {
	t.Parallel()
	pg := postgres.Shared(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "mtm.toml")
			text := fmt.Sprintf("data_dir = %q\n", filepath.Join(dir, "data"))
			if backend == "postgres" {
				text += fmt.Sprintf("[catalog]\nurl = %q\n", pg.Database(t))
			} else {
				text += "[catalog]\nauto_migrate = false\n"
			}
			if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			outs := make([]string, 2)
			codes := make([]int, 2)
			var wg sync.WaitGroup
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var out, errOut bytes.Buffer
					env := &environment{stdout: &out, stderr: &errOut, getenv: []string{}}
					codes[i] = run(context.Background(), env, []string{"migrate", "--config", cfg})
					outs[i] = out.String() + errOut.String()
				}()
			}
			wg.Wait()
			all := outs[0] + outs[1]
			for i, code := range codes {
				if code != 0 {
					t.Errorf("migrate %d: exit %d\n%s", i, code, outs[i])
				}
			}
			for i, name := range []string{"0001_schema.sql", "0002_account_keys.sql", "0003_blob_index.sql"} {
				if n := strings.Count(all, fmt.Sprintf("applied: %d %s", i+1, name)); n != 1 {
					t.Errorf("%s applied %d times between the two:\n%s\n%s", name, n, outs[0], outs[1])
				}
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mtm/internal/testenv/corpus"
	"mtm/internal/testenv/postgres"
)

// TestCatalogOnPostgres: with [catalog] url (here MTM_CATALOG_URL) the
// commands keep the catalog in PostgreSQL, as a role that only owns its
// database (no superuser): a new database needs `mtm migrate`
// (auto_migrate defaults to false there), then admins are added and
// listed in it; the password never shows.
func TestCatalogOnPostgres(t *testing.T) {
	t.Parallel()
	pg := postgres.Start(t)
	url := pg.OwnedDatabase(t, "mtm", "pw-never-shown")
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

// TestCatalogDatabaseGoesDown: with the catalog's PostgreSQL down, `mtm
// snapshot` fails at once with an error that names the catalog and not
// its password; PostgreSQL going down in the middle of a snapshot fails
// that run, and when it is back the next run completes it, the earlier
// snapshot intact, the store consistent.
func TestCatalogDatabaseGoesDown(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	pg := postgres.Start(t)
	url := strings.Replace(pg.Database(t), "postgres@", "postgres:pw-never-shown@", 1)
	e.setCatalog(url)
	for _, m := range msgs[:300] {
		e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{})
	}
	e.mustMTM("snapshot")
	before := e.snapshots(alice)

	pg.Down(t)
	start := time.Now()
	code, out, errOut := e.mtm("snapshot")
	if code == 0 || !strings.Contains(errOut, "catalog") || strings.Contains(out+errOut, "pw-never-shown") {
		t.Errorf("snapshot with the catalog down: exit %d\n%s%s", code, out, errOut)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("snapshot with the catalog down took %v to fail", took)
	}
	t.Logf("with the catalog down: %s", strings.TrimSpace(errOut))
	pg.Up(t)

	rest := msgs[300:2300]
	for _, m := range rest {
		e.dc.Append(t, alice, "Archive", m.Bytes, nil, time.Time{})
	}
	_, exited, runOut := e.startMTM("snapshot")
	e.waitStaged(exited, runOut)
	pg.Down(t)
	select {
	case err := <-exited:
		if err == nil {
			t.Errorf("the snapshot succeeded with its catalog gone:\n%s", runOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the snapshot did not end within a minute of its catalog going down:\n%s", runOut.String())
	}
	if strings.Contains(runOut.String(), "pw-never-shown") {
		t.Errorf("the failed run printed the password:\n%s", runOut.String())
	}
	pg.Up(t)

	e.mustMTM("snapshot")
	final := e.snapshots(alice)
	if len(final) != 3 || final[0] != before[0] || final[1].State != "failed" || final[2].State != "committed" {
		t.Fatalf("snapshots after the catalog came back: %+v", final)
	}
	folders := []string{"INBOX", "Archive"}
	if d := e.exported(alice, strconv.FormatInt(final[2].ID, 10), folders...).diff(e.live(alice, folders...)); d != "" {
		t.Errorf("the snapshot after the outage differs from the mailbox:\n%s", d)
	}
	e.mustMTM("check", "--read-data")
}

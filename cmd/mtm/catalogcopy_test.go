package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/demo"
	"mtm/internal/store"
	"mtm/internal/testenv/postgres"
)

// TestCatalogCopy copies a data directory of fifteen days (the demo's
// history, with an admin and its audit rows) into PostgreSQL: a copy
// interrupted half way leaves a target every command refuses, the next copy
// starts it over, and then `mtm snapshots`, exports and search answer the
// same on PostgreSQL as on SQLite, `mtm check --read-data` finds nothing,
// and new rows get new ids.
func TestCatalogCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, err := demo.StartIMAP(demo.Passwords())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	h, err := demo.Build(ctx, demo.BuildOptions{DataDir: data, IMAPAddr: srv.Addr(), Messages: 150, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(postgres.Shared(t).Database(t), "postgres@", "postgres:pw-never-shown@", 1)

	cfgFor := func(name, catalogURL string) string {
		cfg := filepath.Join(dir, name)
		text := fmt.Sprintf("data_dir = %q\n", data)
		if catalogURL != "" {
			text += fmt.Sprintf("[catalog]\nurl = %q\n", catalogURL)
		}
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	lite, pg := cfgFor("sqlite.toml", ""), cfgFor("postgres.toml", url)
	mtm := func(cfg, stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: []string{}}
		code := run(ctx, env, append(args, "--config", cfg))
		return code, out.String(), errOut.String()
	}
	must := func(cfg string, args ...string) string {
		t.Helper()
		code, out, errOut := mtm(cfg, "", args...)
		if code != 0 {
			t.Fatalf("mtm %v (%s): exit %d\n%s%s", args, filepath.Base(cfg), code, out, errOut)
		}
		return out
	}
	if code, out, errOut := mtm(lite, "a long enough password\n", "admin", "add", "--email", "boss@example.com"); code != 0 {
		t.Fatalf("admin add: %d %s%s", code, out, errOut)
	}

	// Interrupted after its first tables: the target is marked, and refused.
	cctx, cancel := context.WithCancel(ctx)
	_, err = store.CopyCatalog(cctx, store.CopyOptions{From: data, To: url, Clock: clock.Real{},
		Progress: func(p catalog.CopyProgress) {
			if p.Table == "contents" {
				cancel()
			}
		}})
	cancel()
	if err == nil {
		t.Fatal("a cancelled copy succeeded")
	}
	if code, out, errOut := mtm(pg, "", "snapshots", "--account", demo.Accounts()[0].Addr); code == 0 ||
		!strings.Contains(errOut, "unfinished `mtm catalog copy`") {
		t.Errorf("a command on an interrupted copy: exit %d\n%s%s", code, out, errOut)
	}

	out := must(pg, "catalog", "copy", "--from", data, "--to", url)
	for _, want := range []string{"started it over", "entries: ", "copied ", "search index rebuilt for"} {
		if !strings.Contains(out, want) {
			t.Errorf("catalog copy's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pw-never-shown") {
		t.Errorf("catalog copy shows the password:\n%s", out)
	}
	if code, out, errOut := mtm(pg, "", "catalog", "copy", "--from", data, "--to", url); code == 0 ||
		!strings.Contains(errOut, "not empty") {
		t.Errorf("a second copy into a full target: exit %d\n%s%s", code, out, errOut)
	}

	if out := must(pg, "check", "--read-data"); !strings.Contains(out, "no problems found") {
		t.Errorf("check on the copy:\n%s", out)
	}
	if a, b := must(lite, "admin", "list"), must(pg, "admin", "list"); a != b {
		t.Errorf("admin list: SQLite\n%s\nPostgreSQL\n%s", a, b)
	}
	for _, acct := range demo.Accounts() {
		a := must(lite, "snapshots", "--account", acct.Addr, "--all", "--json")
		b := must(pg, "snapshots", "--account", acct.Addr, "--all", "--json")
		if a != b || strings.Count(a, `"id"`) != len(h.Days) {
			t.Errorf("%s: snapshots differ or are not %d:\nSQLite %s\nPostgreSQL %s", acct.Addr, len(h.Days), a, b)
		}
		for _, day := range []string{h.Days[0], h.DeletedDay, h.Days[len(h.Days)-1]} {
			ea := exportTree(t, func(o string) { must(lite, "export", "--account", acct.Addr, "--snapshot", day, "--out", o) })
			eb := exportTree(t, func(o string) { must(pg, "export", "--account", acct.Addr, "--snapshot", day, "--out", o) })
			if !slices.Equal(ea, eb) || len(ea) == 0 {
				t.Errorf("%s %s: exports differ (%d and %d files)", acct.Addr, day, len(ea), len(eb))
			}
		}
	}
	compareSearch(t, ctx, data, url)

	// New rows continue after the copied ids.
	cat, err := catalog.OpenPostgres(ctx, url, 2, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close() //nolint:errcheck // test
	acct, err := cat.Account(ctx, demo.Accounts()[0].Addr)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := cat.Snapshots(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	run, err := cat.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID <= snaps[len(snaps)-1].ID {
		t.Errorf("a new snapshot got id %d after the copied %d", run.ID, snaps[len(snaps)-1].ID)
	}
}

// exportTree runs an export into a new directory and returns its files as
// "folder sha256", sorted (the files' names are not compared).
func exportTree(t *testing.T, export func(out string)) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "export")
	export(out)
	var files []string
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(out, filepath.Dir(p))
		files = append(files, fmt.Sprintf("%s %x", rel, sha256.Sum256(b)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// compareSearch runs the same searches on the last snapshot of every
// account in both catalogs and wants the same messages.
func compareSearch(t *testing.T, ctx context.Context, data, url string) {
	t.Helper()
	lite, pg := indexedPair(t, ctx, data, url)
	queries := []string{"quarterly", "lunch friday", "from:garcia", "subject:report", "invoice", "Rückmeldung",
		"réunion", "München", "budget 2026", "to:bob", "body:numbers", "photos", "Смирнова", "nothing-matches-this"}
	found := 0
	for _, acct := range demo.Accounts() {
		sa, sb := lastSnapshot(t, ctx, lite, acct.Addr), lastSnapshot(t, ctx, pg, acct.Addr)
		for _, q := range queries {
			a, _, errA := lite.Catalog.Search(ctx, sa, 0, q, catalog.SortDate, 1000)
			b, _, errB := pg.Catalog.Search(ctx, sb, 0, q, catalog.SortDate, 1000)
			if errA != nil || errB != nil {
				t.Fatalf("search %q: %v, %v", q, errA, errB)
			}
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s: search %q: SQLite finds %d, PostgreSQL %d", acct.Addr, q, len(a), len(b))
			}
			if len(a) > 0 {
				found++
			}
		}
	}
	if found < len(queries) {
		t.Errorf("only %d account-queries found anything: the comparison proves little", found)
	}
}

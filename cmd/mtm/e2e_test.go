package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mtm/internal/catalog"

	"mtm/internal/testenv/dovecot"
	"mtm/internal/testenv/postgres"
	"mtm/internal/testenv/s3"
)

// The end-to-end tests drive the mtm command against a private Dovecot. A
// test that must kill the process runs this test binary again as mtm: with
// MTMTEST_RUN_MAIN=1 set, TestMain runs main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("MTMTEST_RUN_MAIN") == "1" {
		main()
		return
	}
	code := m.Run()
	if err := errors.Join(postgres.StopShared(), s3.StopShared()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// e2e is one Dovecot, one data directory and a config file naming both.
type e2e struct {
	t      *testing.T
	dc     *dovecot.Server
	dir    string
	config string
	// now, when set, is the RFC 3339 time mtm's clock starts at
	// (MTMTEST_NOW).
	now string
	// env is more environment for mtm, "KEY=value".
	env []string
	// catalogURL is the PostgreSQL catalog of the matrix run, "" for the
	// embedded SQLite catalog in the data directory.
	catalogURL string
	// s3Bucket is the bucket of the S3 matrix run, "" for the local store.
	s3Bucket string
}

func newE2E(t *testing.T, accounts ...string) *e2e {
	t.Helper()
	e := &e2e{t: t, dc: dovecot.Start(t), dir: t.TempDir()}
	for _, a := range accounts {
		e.dc.AddUser(t, a, "pw-"+a)
	}
	list := filepath.Join(e.dir, "accounts.txt")
	if err := os.WriteFile(list, []byte(strings.Join(accounts, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.config = filepath.Join(e.dir, "mtm.toml")
	cfg := fmt.Sprintf(`data_dir = %q
timezone = "Europe/Rome"
[imap]
address = %q
master_user = %q
master_password = %q
master_separator = "*"
[accounts]
file = %q
[admin]
require_second_factor = false   # TestAdminSecondFactor* turn it on
[log]
level = "warn"
`, filepath.Join(e.dir, "data"), e.dc.Addr, e.dc.MasterUser, e.dc.MasterPassword, list)
	if s3.Matrix() {
		// The same tests with the blobs in a bucket of their own.
		srv := s3.Shared(t)
		e.s3Bucket = srv.Bucket(t)
		cfg += blobsSection(srv, srv.Endpoint, e.s3Bucket)
	}
	if postgres.Matrix() {
		// The same tests on a PostgreSQL catalog, a database of their own.
		e.catalogURL = postgres.Shared(t).Database(t)
		cfg += fmt.Sprintf("[catalog]\nurl = %q\nauto_migrate = true\n", e.catalogURL)
		t.Cleanup(func() {
			if _, err := os.Stat(filepath.Join(e.dir, "data", "catalog.db")); !os.IsNotExist(err) {
				t.Errorf("the PostgreSQL run made a catalog.db in the data directory (%v)", err)
			}
		})
	}
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// blobsSection is the [blobs] section that puts the mail in bucket of srv,
// reached at endpoint (the server's, or a proxy's).
func blobsSection(srv *s3.Server, endpoint, bucket string) string {
	return fmt.Sprintf("[blobs]\nurl = \"s3://%s/mtm\"\nendpoint = %q\npath_style = true\n"+
		"access_key_id = %q\nsecret_access_key = %q\n", bucket, endpoint, srv.AccessKeyID, srv.SecretAccessKey)
}

// setBlobs moves the test's mail to bucket of srv, reached at endpoint: a
// new, empty store.
func (e *e2e) setBlobs(srv *s3.Server, endpoint, bucket string) {
	e.t.Helper()
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	text := regexp.MustCompile(`(?s)\[blobs\]\n.*?(\n\[|$)`).ReplaceAllString(string(cfg), "$1")
	text = strings.Replace(text, "\n[catalog]", "\n"+blobsSection(srv, endpoint, bucket)+"[catalog]", 1)
	if !strings.Contains(text, "[blobs]") {
		text += blobsSection(srv, endpoint, bucket)
	}
	e.s3Bucket = bucket
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// setCatalog moves the test's catalog to the PostgreSQL database at url
// (a new one: migrated by the first command).
func (e *e2e) setCatalog(url string) {
	e.t.Helper()
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	base, _, _ := strings.Cut(string(cfg), "[catalog]\n")
	e.catalogURL = url
	text := base + fmt.Sprintf("[catalog]\nurl = %q\nauto_migrate = true\n", url)
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// openCatalog opens the test's catalog, wherever the matrix keeps it.
func (e *e2e) openCatalog(ctx context.Context, opts catalog.Options) *catalog.DB {
	e.t.Helper()
	var cat *catalog.DB
	var err error
	if e.catalogURL != "" {
		cat, err = catalog.OpenPostgres(ctx, e.catalogURL, 4, opts)
	} else {
		cat, err = catalog.Open(ctx, filepath.Join(e.dir, "data", "catalog.db"), opts)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return cat
}

// startMTM starts mtm with args as a separate process (this test binary run
// as mtm, with e.env, under MTMTEST_NOW when e.now is set) and returns it, a channel
// that receives its end, and its output.
func (e *e2e) startMTM(args ...string) (*exec.Cmd, <-chan error, *strings.Builder) {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--config", e.config)...)
	cmd.Env = append(append(os.Environ(), "MTMTEST_RUN_MAIN=1"), e.env...)
	if e.now != "" {
		cmd.Env = append(cmd.Env, nowEnv+"="+e.now)
	}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, exited, out
}

// mtm runs the command in this process and returns its exit code and output.
func (e *e2e) mtm(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: []string{}}
	if e.now != "" {
		env.getenv = []string{nowEnv + "=" + e.now}
	}
	env.getenv = append(env.getenv, e.env...)
	full := append(append([]string{}, args...), "--config", e.config)
	code = run(context.Background(), env, full)
	return code, out.String(), errOut.String()
}

// mustMTM runs the command and fails the test unless it exits 0.
func (e *e2e) mustMTM(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.mtm(args...)
	if code != 0 {
		e.t.Fatalf("mtm %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// snapshots returns the account's snapshots, failed and running ones too.
func (e *e2e) snapshots(account string) []snapshotJSON {
	e.t.Helper()
	var out []snapshotJSON
	if err := json.Unmarshal([]byte(e.mustMTM("snapshots", "--account", account, "--all", "--json")), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// digests is folder -> sorted SHA-256s of its messages' exact bytes.
type digests map[string][]string

func (d digests) add(folder string, b []byte) {
	d[folder] = append(d[folder], fmt.Sprintf("%x", sha256.Sum256(b)))
}

func (d digests) sort() digests {
	for _, v := range d {
		slices.Sort(v)
	}
	return d
}

func (d digests) count() int {
	n := 0
	for _, v := range d {
		n += len(v)
	}
	return n
}

// diff describes how got differs from want, or returns "".
func (d digests) diff(want digests) string {
	var b strings.Builder
	for f, w := range want {
		if g := d[f]; !slices.Equal(g, w) {
			fmt.Fprintf(&b, "folder %q: %d messages, want %d; %d differ\n", f, len(g), len(w), len(w)-common(g, w))
		}
	}
	for f, g := range d {
		if _, ok := want[f]; !ok && len(g) > 0 {
			fmt.Fprintf(&b, "folder %q: %d messages, want none\n", f, len(g))
		}
	}
	return b.String()
}

func common(a, b []string) int {
	n := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			n, i, j = n+1, i+1, j+1
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return n
}

// live reads the exact bytes the server returns for every message of the
// listed folders, streaming.
func (e *e2e) live(account string, folders ...string) digests {
	e.t.Helper()
	c := e.dc.Dial(e.t, account)
	defer func() { _ = c.Logout().Wait() }() // Dovecot limits connections per user
	d := digests{}
	section := &imap.FetchItemBodySection{Peek: true}
	for _, f := range folders {
		sel, err := c.Select(f, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			e.t.Fatalf("examine %s: %v", f, err)
		}
		d[f] = nil
		if sel.NumMessages == 0 {
			continue
		}
		cmd := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			buf, err := msg.Collect()
			if err != nil {
				e.t.Fatalf("fetch %s: %v", f, err)
			}
			d.add(f, buf.FindBodySection(section))
		}
		if err := cmd.Close(); err != nil {
			e.t.Fatalf("fetch %s: %v", f, err)
		}
	}
	return d.sort()
}

// exported exports a snapshot as Maildir and reads every file back.
func (e *e2e) exported(account, snapshot string, folders ...string) digests {
	e.t.Helper()
	out := filepath.Join(e.t.TempDir(), "export")
	e.mustMTM("export", "--account", account, "--snapshot", snapshot, "--format", "maildir", "--out", out)
	d := digests{}
	for _, f := range folders {
		cur := filepath.Join(append([]string{out}, append(strings.Split(f, "/"), "cur")...)...)
		files, err := os.ReadDir(cur)
		if err != nil {
			e.t.Fatalf("exported folder %s: %v", f, err)
		}
		d[f] = nil
		for _, fi := range files {
			b, err := os.ReadFile(filepath.Join(cur, fi.Name()))
			if err != nil {
				e.t.Fatal(err)
			}
			d.add(f, b)
		}
	}
	return d.sort()
}

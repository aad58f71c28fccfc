// Package postgres starts a throwaway PostgreSQL cluster for tests: initdb
// in a temporary directory, pg_ctl on a free loopback port (TCP only to
// 127.0.0.1, its Unix socket in the same directory), stopped and removed
// when the test ends. It follows TESTING.md: Debian's postgresql package,
// its programs in /usr/lib/postgresql/VERSION/bin, run as the postgres user
// when the tests run as root (initdb refuses root), fsync off (functional
// tests only; benchmarks keep it on).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// requireEnv turns a missing PostgreSQL from a skip into a failure.
const requireEnv = "MTMTEST_REQUIRE_INTEGRATION"

// Server is one running cluster.
type Server struct {
	// URL reaches the cluster's "postgres" database as the superuser
	// postgres, without a password (trust on loopback).
	URL  string
	Port int
	dir  string
	bin  string
	as   []string // the command prefix that runs as the cluster's owner
	opts string   // the server's options, for a restart
	dbs  atomic.Int64
}

// Options tune a cluster.
type Options struct {
	// Sync keeps fsync on, for benchmarks; tests run faster without it.
	Sync bool
}

// Start starts a cluster for the test and stops it when the test ends. It
// skips the test when PostgreSQL is not installed, unless
// MTMTEST_REQUIRE_INTEGRATION=1, then it fails it.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		msg := "postgres: " + err.Error() + " (run bash scripts/deps.sh)"
		if os.Getenv(requireEnv) == "1" {
			t.Fatal(msg + "; " + requireEnv + "=1 requires it")
		}
		t.Skip(msg)
	}
	s, err := start(bin, o)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("postgres: %v", err)
		}
	})
	return s
}

// LogFile is the cluster's server log.
func (s *Server) LogFile() string { return filepath.Join(s.dir, "log") }

// CatalogEnv selects the catalog back-end of the end-to-end tests:
// "postgres" runs them on PostgreSQL (scripts/test.sh runs them once more
// so), anything else on the embedded SQLite catalog.
const CatalogEnv = "MTMTEST_CATALOG"

// Matrix reports whether the end-to-end tests run on PostgreSQL
// (MTMTEST_CATALOG=postgres).
func Matrix() bool { return os.Getenv(CatalogEnv) == "postgres" }

var shared struct {
	sync.Mutex
	s *Server
}

// Shared returns one cluster for the whole test binary, started on first
// use, so that a matrix of end-to-end tests does not start one per test;
// each test still takes its own Database. The binary's TestMain stops it
// with StopShared.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil {
		return shared.s
	}
	bin, err := findBin()
	if err != nil {
		t.Fatalf("postgres: %v (run bash scripts/deps.sh)", err)
	}
	if shared.s, err = start(bin, Options{}); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	return shared.s
}

// StopShared stops the cluster Shared started, if any.
func StopShared() error {
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil {
		return nil
	}
	err := shared.s.stop()
	shared.s = nil
	return err
}

// Database creates a new, empty database in the cluster and returns its
// URL, so that tests sharing one cluster do not share data.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("mtm_test_%d", s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer c.Close(ctx) //nolint:errcheck // a test connection
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres: creating %s: %v", name, err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}

// OwnedDatabase creates a role that may log in with a password, and a new
// database it owns, and returns the database's URL as that role: what an
// operator gives mtm (no superuser, no right beyond its own database).
func (s *Server) OwnedDatabase(t testing.TB, role, password string) string {
	t.Helper()
	n := s.dbs.Add(1)
	name := fmt.Sprintf("mtm_owned_%d", n)
	role = fmt.Sprintf("%s_%d", role, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer c.Close(ctx) //nolint:errcheck // a test connection
	for _, q := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '%s'", role, password),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, role),
		fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", name),
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("postgres: %s: %v", q, err)
		}
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", role, password, s.Port, name)
}

// findBin returns the bin directory of the newest installed PostgreSQL.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb not found (apt-get install postgresql)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func start(bin string, o Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "mtm-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if err := s.runAsPostgres(); err != nil {
			return nil, errors.Join(err, os.RemoveAll(dir))
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.cmd("initdb", "-D", data, "--auth=trust", "--no-sync", "-U", "postgres", "-E", "UTF8",
		"--locale=C").CombinedOutput(); err != nil {
		return nil, errors.Join(fmt.Errorf("initdb: %w\n%s", err, out), os.RemoveAll(dir))
	}
	fsync := "off"
	if o.Sync {
		fsync = "on"
	}
	for attempt := 1; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			return nil, errors.Join(err, os.RemoveAll(dir))
		}
		s.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=%s -c max_connections=200", s.Port, dir, fsync)
		out, err := s.pgctlStart()
		if err == nil {
			break
		}
		if attempt == 3 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, errors.Join(fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log), os.RemoveAll(dir))
		}
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	return s, nil
}

func (s *Server) pgctlStart() ([]byte, error) {
	return s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-o", s.opts, "-l", filepath.Join(s.dir, "log"),
		"-w", "-t", "60", "start").CombinedOutput()
}

// Down stops the server at once, as a crash or a network cut would look
// to its clients (pg_ctl stop -m immediate); Up starts it again, on the
// same port with the same data.
func (s *Server) Down(t testing.TB) {
	t.Helper()
	out, err := s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Up starts a server that Down stopped.
func (s *Server) Up(t testing.TB) {
	t.Helper()
	if out, err := s.pgctlStart(); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// runAsPostgres lets the postgres user own the cluster's directory and
// makes its programs run as that user.
func (s *Server) runAsPostgres() error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(s.dir, uid, gid); err != nil {
		return err
	}
	s.as = []string{"runuser", "-u", "postgres", "--"}
	return nil
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	full := append(append(append([]string{}, s.as...), filepath.Join(s.bin, name)), args...)
	c := exec.Command(full[0], full[1:]...)
	c.Dir = s.dir
	return c
}

func (s *Server) stop() error {
	out, err := s.cmd("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err != nil {
		err = fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

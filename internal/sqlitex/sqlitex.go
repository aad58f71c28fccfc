// Package sqlitex opens mtm's SQLite databases (the catalog and the blob
// index) with the settings they share: modernc.org/sqlite, WAL, a 30 s busy
// timeout, fsync on every commit, BEGIN IMMEDIATE for writers, and reads
// through a memory map.
package sqlitex

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// mmapSize is how much of a database file SQLite reads through a memory
// map instead of read calls: a page in the kernel's cache then costs no
// system call and no copy into SQLite's own small cache. Looking 20,000
// blobs up among 200,000 in the blob index, in queries of 500, took 6 µs
// a blob with it and 10.7 µs without (BenchmarkIndexLookups). Writes still
// go through write calls and the WAL. The map is address space, not
// memory: the kernel's page cache holds the pages either way.
const mmapSize = 1 << 30

// Options choose among the settings.
type Options struct {
	// ReadOnly opens a pool for queries only (query_only); otherwise the
	// pool writes, puts the file in WAL mode and begins transactions with
	// BEGIN IMMEDIATE.
	ReadOnly bool
	// ForeignKeys enforces foreign keys.
	ForeignKeys bool
	// NoSync skips fsync at commit (synchronous=OFF): for tests and the
	// demo only.
	NoSync bool
}

// Open returns a pool of connections to the database file at path,
// creating the file when a writer first uses it.
func Open(path string, o Options) (*sql.DB, error) {
	if !o.ReadOnly {
		// A database mtm makes is its owner's alone, whatever the umask
		// (the catalog holds password hashes and sessions); SQLite gives
		// the -wal and -shm files the mode of the database file.
		if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
			_ = f.Close()
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", mmapSize))
	if o.ForeignKeys {
		q.Add("_pragma", "foreign_keys(1)")
	}
	if o.NoSync {
		q.Add("_pragma", "synchronous(OFF)")
	} else {
		q.Add("_pragma", "synchronous(FULL)")
	}
	if o.ReadOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if !o.ReadOnly {
		if err := firstConn(db); err != nil {
			return nil, errors.Join(fmt.Errorf("opening %s: %w", path, err), db.Close())
		}
	}
	return db, nil
}

// walSwitchWait bounds how long firstConn retries, as busy_timeout bounds
// SQLite's own waits.
const walSwitchWait = 30 * time.Second

// firstConn opens the pool's first connection, whose journal_mode(WAL)
// switches a new database file to WAL. Two processes that open a new file
// at once both switch it, and SQLite answers the one that loses
// SQLITE_BUSY at once, without waiting on busy_timeout (two `mtm migrate`
// of a new catalog failed so: TestTwoMigratesAtOnce): the connection is
// opened again until the file is in WAL mode. Once it is, the pragma
// changes nothing and takes no lock.
func firstConn(db *sql.DB) error {
	deadline := time.Now().Add(walSwitchWait)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.Ping()
		var se interface{ Code() int }
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

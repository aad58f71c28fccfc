// Package catalog owns the catalog of docs/design.md: everything mtm knows
// apart from the message bytes. That is accounts and snapshots; the
// contents of stored blobs with their header summaries and search index;
// mailbox identities with their sync state; the folder and message versions
// whose validity intervals make up every snapshot's view; the garbage and
// the blob-deletion lock of prune; restore requests with their
// compare-and-set transitions and what restores appended; the outbox of
// notification emails; admins and the audit log; and the nights and
// failure streaks of the scheduler.
//
// Its surface is six roles (roles.go: snapshot writing, browsing,
// restores, outbox, admins and audit, maintenance), which together make a
// Catalog; every back-end passes the contract suite in package
// catalogtest. DB is the SQLite back-end: one database (WAL mode) in the
// data directory. All writes go through a single connection, so writers
// queue in Go instead of failing with SQLITE_BUSY; reads use a separate
// pool and see the last committed state.
//
// A snapshot run writes through a Run: it stages what it saw, batch by
// batch, and Commit applies the staging in one transaction (design.md,
// "Commit transaction of snapshot S"). Views are read with Snapshots,
// Folders and Messages; FindSnapshot is how a person's "id or day" becomes
// a snapshot.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"mtm/internal/clock"
	"mtm/internal/sqlitex"
)

// Sentinel errors callers test with errors.Is.
var (
	// ErrNotFound: no such account, snapshot or folder.
	ErrNotFound = errors.New("not found")
	// ErrBusy: another live run holds the account.
	ErrBusy = errors.New("another snapshot of this account is running")
	// ErrLostOwnership: the run's snapshot row is no longer running and ours.
	ErrLostOwnership = errors.New("snapshot is no longer owned by this run")
)

// Options configure a catalog.
type Options struct {
	// Clock stamps rows; defaults to the real clock.
	Clock clock.Clock
	// Location groups snapshots into days; defaults to UTC.
	Location *time.Location
	// Owner names this process in running snapshot rows; defaults to
	// host:pid:random (see DefaultOwner).
	Owner string
	// StaleAfter is how old a foreign run's heartbeat must be before it is
	// taken for dead; defaults to two minutes.
	StaleAfter time.Duration
	// Migrate says what opening does with pending migrations: apply them
	// (the default), refuse the catalog, or leave them to Migrate.
	Migrate MigratePolicy
	// CopyTarget opens a PostgreSQL catalog that holds an unfinished
	// `mtm catalog copy` (to copy into it again); any other open refuses
	// it with ErrUnfinishedCopy.
	CopyTarget bool
	// migrations replaces the embedded migrations (tests).
	migrations []Migration
}

// DB is an open catalog.
type DB struct {
	group      groupCommit
	d          dialect
	closePool  func() error  // PostgreSQL: closes the pool behind w and r
	pool       *pgxpool.Pool // PostgreSQL: pgx's own API over the same pool (COPY)
	w, r       *sql.DB
	ws, rs     *stmts // kept statements of w and r
	clk        clock.Clock
	loc        *time.Location
	owner      string
	staleAfter time.Duration
	migrations []Migration // this binary's, in order
}

// Open opens, creating if needed, the SQLite catalog at path.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	c := newDB(opts)
	var err error
	if c.migrations == nil {
		if c.migrations, err = loadMigrations(embeddedMigrations, "migrations/sqlite"); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
	}
	if c.w, err = openPool(path, false); err != nil {
		return nil, err
	}
	c.w.SetMaxOpenConns(1)
	pending, err := c.openSchema(ctx, opts.Migrate)
	if err != nil {
		return nil, errors.Join(err, c.w.Close())
	}
	if c.r, err = openPool(path, true); err != nil {
		return nil, errors.Join(err, c.w.Close())
	}
	c.r.SetMaxOpenConns(8)
	return c.keepStatements(ctx, pending)
}

// keepStatements sets up the kept statements, preparing the writer's,
// unless migrations are pending (the catalog was opened for `mtm
// migrate`: its statements are prepared when used).
func (c *DB) keepStatements(ctx context.Context, pending bool) (*DB, error) {
	c.ws, c.rs = newStmts(c.w), newStmts(c.r)
	if pending || c.d.pg { // pgx keeps PostgreSQL's statements itself (readRow)
		return c, nil
	}
	if err := c.ws.prepare(ctx, writeQueries...); err != nil {
		return nil, errors.Join(fmt.Errorf("catalog: %w", err), c.Close())
	}
	return c, nil
}

func openPool(path string, readOnly bool) (*sql.DB, error) {
	db, err := sqlitex.Open(path, sqlitex.Options{ReadOnly: readOnly, ForeignKeys: true})
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return db, nil
}

// Close closes the catalog.
func (c *DB) Close() error {
	if c.closePool != nil {
		return errors.Join(c.rs.close(), c.ws.close(), c.closePool())
	}
	return errors.Join(c.rs.close(), c.ws.close(), c.r.Close(), c.w.Close())
}

// tx runs fn in a write transaction. On SQLite writers take the database's
// write lock at BEGIN, one at a time; on PostgreSQL the transaction is
// serializable, and runs again when PostgreSQL could not serialize it, so
// both give the outcome of transactions run one after another.
func (c *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	var opts *sql.TxOptions
	if c.d.pg {
		opts = &sql.TxOptions{Isolation: sql.LevelSerializable}
	}
	for attempt := 1; ; attempt++ {
		err := c.txOnce(ctx, opts, fn)
		if err == nil || !c.d.pg || !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		if err := clock.Sleep(ctx, c.clk, retryWait(attempt)); err != nil {
			return err
		}
	}
}

// retryWait is the wait before running again a transaction PostgreSQL
// could not serialize, for the attempt-th time: random, up to 2^attempt
// ms and at most a second, so that transactions that collided (the commits
// of many workers at once) do not collide again in lockstep.
func retryWait(attempt int) time.Duration {
	ceiling := min(time.Duration(1)<<min(attempt, 10)*time.Millisecond, time.Second)
	return time.Millisecond + time.Duration(rand.Int64N(int64(ceiling)))
}

// maxTxAttempts bounds the runs of a transaction PostgreSQL could not
// serialize.
const maxTxAttempts = 30

func (c *DB) txOnce(ctx context.Context, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := c.w.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("beginning catalog transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing catalog transaction: %w", err)
	}
	return nil
}

func (c *DB) nowMillis() int64 { return c.clk.Now().UnixMilli() }

// AccountID identifies an account in the catalog.
type AccountID int64

// Account returns the id of the account with this address, creating it.
func (c *DB) Account(ctx context.Context, address string) (AccountID, error) {
	var id AccountID
	err := c.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO accounts(address, created_at) VALUES(?, ?)
			ON CONFLICT(address) DO UPDATE SET address=excluded.address RETURNING id`,
			normalizeAddress(address), c.nowMillis()).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("account %s: %w", address, err)
	}
	return id, nil
}

// LookupAccount returns the id of an existing account, or ErrNotFound.
func (c *DB) LookupAccount(ctx context.Context, address string) (AccountID, error) {
	var id AccountID
	err := c.readRow(ctx, `SELECT id FROM accounts WHERE address = ?`, normalizeAddress(address)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("account %s: %w", address, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("account %s: %w", address, err)
	}
	return id, nil
}

package catalog

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmts keeps the prepared statements of one pool by query text, for the
// queries that run per account or per request: SQLite spends more time
// parsing a short query than running it.
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, m: map[string]*sql.Stmt{}} }

// get returns the statement of q, preparing it the first time.
func (s *stmts) get(ctx context.Context, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[q]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.m[q] = st
	return st, nil
}

func (s *stmts) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, st := range s.m {
		errs = append(errs, st.Close())
	}
	s.m = nil
	return errors.Join(errs...)
}

type rowScanner interface{ Scan(...any) error }

// errRow is a row that fails to scan with the error of its preparation.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// readRow runs a kept read query that returns one row. On PostgreSQL,
// pgx keeps every statement prepared per connection itself: a kept
// database/sql statement would only add a round trip per connection.
func (c *DB) readRow(ctx context.Context, q string, args ...any) rowScanner {
	if c.d.pg {
		return c.r.QueryRowContext(ctx, q, args...)
	}
	st, err := c.rs.get(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// readRows runs a kept read query (on PostgreSQL, see readRow).
func (c *DB) readRows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if c.d.pg {
		return c.r.QueryContext(ctx, q, args...)
	}
	st, err := c.rs.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// kept returns the statement of q if it was prepared already.
func (s *stmts) kept(q string) (*sql.Stmt, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[q]
	return st, ok
}

// prepare prepares the queries now. The writer pool has one connection,
// which a transaction holds: its statements must be prepared before any
// transaction needs them.
func (s *stmts) prepare(ctx context.Context, qs ...string) error {
	for _, q := range qs {
		if _, err := s.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// txRow runs a query that returns one row in the write transaction tx,
// through its kept statement when Open prepared one (writeQueries).
func (c *DB) txRow(ctx context.Context, tx *sql.Tx, q string, args ...any) rowScanner {
	if st, ok := c.ws.kept(q); ok {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// Package pgsql opens PostgreSQL for mtm (docs/design.md, "The catalog on
// PostgreSQL"): a pgx connection pool (pgxpool: pooling, sslmode and the
// other libpq-style settings of the URL) and a database/sql handle over
// that pool whose statements are written with SQLite's placeholders, "?"
// and "?N", rebound to PostgreSQL's "$N", so that the catalog's SQL is
// written once for both back-ends. No error it returns contains the URL's
// password.
package pgsql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// DB is an open PostgreSQL database.
type DB struct {
	Pool *pgxpool.Pool // pgx's own API (for the job queue)
	SQL  *sql.DB       // database/sql over the pool, with rebound placeholders
}

// Open connects to the database at rawURL ("postgres://user:pw@host/db?
// sslmode=verify-full"), with at most maxConns connections (0: pgx's
// default), and checks that it answers.
func Open(ctx context.Context, rawURL string, maxConns int) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("catalog url %s: %s", Redact(rawURL), redactErr(err, rawURL))
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %s", Redact(rawURL), redactErr(err, rawURL))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("catalog %s: %s", Redact(rawURL), redactErr(err, rawURL))
	}
	db := sql.OpenDB(connector{stdlib.GetPoolConnector(pool)})
	if maxConns > 0 {
		db.SetMaxOpenConns(maxConns)
	}
	return &DB{Pool: pool, SQL: db}, nil
}

// Close closes the handle and the pool.
func (d *DB) Close() error {
	err := d.SQL.Close()
	d.Pool.Close()
	return err
}

// Redact returns rawURL with its password replaced by "xxxxx", for logs
// and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

// redactErr is err's text without the password of rawURL.
func redactErr(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// Rebind rewrites the placeholders of q from SQLite's "?N" and "?" to
// PostgreSQL's "$N", numbered as SQLite numbers them: a bare "?" is the
// one after the highest so far. Quoted strings, quoted identifiers and
// comments are left as they are.
func Rebind(q string) string {
	out, _ := rebind(q)
	return out
}

// Params is how many arguments q uses, numbered as Rebind numbers them:
// the highest placeholder's number.
func Params(q string) int {
	_, n := rebind(q)
	return n
}

// rebind returns q rebound and the highest placeholder number it has.
func rebind(q string) (string, int) {
	if !strings.Contains(q, "?") {
		return q, 0
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	next := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled: an escaped quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			b.WriteString(q[i:end])
			i = end - 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			b.WriteString(q[i : i+end])
			i += end - 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				n, _ := strconv.Atoi(q[i+1 : j])
				next = max(next, n)
				b.WriteString("$" + q[i+1:j])
			} else {
				next++
				b.WriteString("$" + strconv.Itoa(next))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), next
}

// connector hands out connections that rebind every statement.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		return nil, errors.Join(fmt.Errorf("pgsql: unexpected connection type %T", conn), conn.Close())
	}
	return rebinding{sc}, nil
}

// rebinding is a pgx connection whose statements are rebound; every other
// method is pgx's.
type rebinding struct{ *stdlib.Conn }

func (r rebinding) Prepare(query string) (driver.Stmt, error) {
	return r.Conn.Prepare(Rebind(query))
}

func (r rebinding) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return r.Conn.PrepareContext(ctx, Rebind(query))
}

func (r rebinding) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return r.Conn.ExecContext(ctx, Rebind(query), args)
}

func (r rebinding) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return r.Conn.QueryContext(ctx, Rebind(query), args)
}

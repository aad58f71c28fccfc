package catalog

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The catalog's schema is a list of numbered migrations (docs/design.md,
// "Versioned migrations").

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var embeddedMigrations embed.FS

// Sentinel errors of the schema's version.
var (
	// ErrSchemaNewer: the catalog was migrated by a newer mtm.
	ErrSchemaNewer = errors.New("the catalog's schema is newer than this mtm")
	// ErrMigrationsPending: the catalog needs migrations that this open
	// may not apply.
	ErrMigrationsPending = errors.New("the catalog needs migrations: run mtm migrate")
)

// MigratePolicy is what opening a catalog does with pending migrations.
type MigratePolicy int

const (
	// MigrateOnOpen applies them (`[catalog] auto_migrate = true`).
	MigrateOnOpen MigratePolicy = iota
	// RefusePending fails with ErrMigrationsPending (`auto_migrate =
	// false`: every command but `mtm migrate`).
	RefusePending
	// LeavePending opens the catalog as it is, for `mtm migrate` to list
	// and apply them (Pending, Migrate).
	LeavePending
)

// Migration is one numbered step of the schema.
type Migration struct {
	Version int
	Name    string // its file name
	sql     string
	// goStep names a step written in Go (a "-- mtm:go NAME" line in its
	// file): "river", River's own migrator.
	goStep string
}

// loadMigrations reads the NNNN_name.sql files of dir in fsys, in order;
// their numbers must run from 1 without a gap.
func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		m := Migration{Version: v, Name: e.Name(), sql: string(b)}
		for _, line := range strings.Split(m.sql, "\n") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "-- mtm:go "); ok {
				m.goStep = strings.TrimSpace(name)
			}
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: want number %d", m.Name, i+1)
		}
	}
	return out, nil
}

// migrationsTable records the applied migrations.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`

// appliedVersion is the highest migration the catalog has, 0 for an empty
// database. A catalog of the first release (meta.schema_version '1', no
// schema_migrations) has version 1, not yet recorded: adopt records it.
func (d dialect) appliedVersion(ctx context.Context, q querier) (version int, adopt bool, err error) {
	var tables int
	if err := q.QueryRowContext(ctx, d.tableExists(), "schema_migrations").Scan(&tables); err != nil {
		return 0, false, fmt.Errorf("reading the catalog's schema version: %w", err)
	}
	if tables == 1 {
		var v sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
			return 0, false, fmt.Errorf("reading the catalog's schema version: %w", err)
		}
		return int(v.Int64), false, nil
	}
	if err := q.QueryRowContext(ctx, d.tableExists(), "meta").Scan(&tables); err != nil {
		return 0, false, fmt.Errorf("reading the catalog's schema version: %w", err)
	}
	if tables == 0 {
		return 0, false, nil
	}
	var v string
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return 0, false, fmt.Errorf("reading the catalog's schema version: %w", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, fmt.Errorf("the catalog's schema version %q is not a number", v)
	}
	return n, true, nil
}

// Pending returns the migrations the catalog has not applied.
func (c *DB) Pending(ctx context.Context) ([]Migration, error) {
	v, _, err := c.d.appliedVersion(ctx, c.w)
	if err != nil {
		return nil, err
	}
	if err := c.checkNotNewer(v); err != nil {
		return nil, err
	}
	return slices.Clone(c.migrations[v:]), nil
}

func (c *DB) checkNotNewer(v int) error {
	if latest := len(c.migrations); v > latest {
		return fmt.Errorf("%w: catalog schema version %d, this mtm knows up to %d: upgrade mtm", ErrSchemaNewer, v, latest)
	}
	return nil
}

// Migrate applies the pending migrations, each in a transaction of its own,
// and returns those it applied. A migration another process applied
// meanwhile is skipped: each step re-reads the version under the write
// lock (writers begin IMMEDIATE).
func (c *DB) Migrate(ctx context.Context) ([]Migration, error) {
	var applied []Migration
	for {
		if m, ok, err := c.nextGoStep(ctx); err != nil {
			return applied, err
		} else if ok {
			ran, err := c.runGoStep(ctx, m)
			if err != nil {
				return applied, err
			}
			if ran {
				applied = append(applied, m)
			}
			continue
		}
		var step *Migration
		done := false
		err := c.migrationTx(ctx, func(tx *sql.Tx) error {
			step, done = nil, false
			v, adopt, err := c.d.appliedVersion(ctx, tx)
			if err != nil {
				return err
			}
			if err := c.checkNotNewer(v); err != nil {
				return err
			}
			if adopt {
				done = v == len(c.migrations)
				return c.recordMigration(ctx, tx, c.migrations[v-1], "adopted: ")
			}
			if v == len(c.migrations) {
				done = true
				return nil
			}
			m := c.migrations[v]
			if m.goStep != "" {
				return nil // nextGoStep runs it, next time round
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			step = &m
			return c.recordMigration(ctx, tx, m, "")
		})
		if err != nil {
			return applied, err
		}
		if step != nil {
			applied = append(applied, *step)
		}
		if done {
			return applied, nil
		}
	}
}

// nextGoStep returns the next pending migration if it is a Go step.
func (c *DB) nextGoStep(ctx context.Context) (Migration, bool, error) {
	v, adopt, err := c.d.appliedVersion(ctx, c.w)
	if err != nil || adopt || v >= len(c.migrations) {
		return Migration{}, false, err
	}
	m := c.migrations[v]
	return m, m.goStep != "", nil
}

// runGoStep runs the Go migration m under the migration lock, unless
// another process applied it meanwhile, and records it. It reports whether
// it ran it.
func (c *DB) runGoStep(ctx context.Context, m Migration) (bool, error) {
	if !c.d.pg || c.pool == nil {
		return false, fmt.Errorf("migration %s: a Go step on SQLite", m.Name)
	}
	// A pool of its own: the lock holds one connection for the whole step,
	// and the catalog's pool may have no other free (database/sql keeps its
	// idle connections).
	cfg := c.pool.Config().Copy()
	cfg.MinConns, cfg.MaxConns = 0, 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer conn.Release()
	// The session form of the lock the SQL steps take in their transactions.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7462010113)`); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7462010113)`) //nolint:errcheck // the session ends with it otherwise
	v, _, err := c.d.appliedVersion(ctx, c.w)
	if err != nil {
		return false, err
	}
	if v >= m.Version {
		return false, nil // another node applied it while this one waited
	}
	switch m.goStep {
	case "river":
		err = migrateRiver(ctx, pool)
	default:
		err = fmt.Errorf("unknown Go step %q", m.goStep)
	}
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	err = c.txOnce(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, func(tx *sql.Tx) error {
		return c.recordMigration(ctx, tx, m, "")
	})
	return err == nil, err
}

// migrationTx runs one migration step. On PostgreSQL nodes starting at
// once take turns on an advisory lock, in a read-committed transaction, so
// that the step reads what the node before it committed.
func (c *DB) migrationTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if !c.d.pg {
		return c.tx(ctx, fn)
	}
	return c.txOnce(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7462010113)`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// recordMigration records m as applied in tx and sets meta.schema_version,
// which releases before migrations compare with "1".
func (c *DB) recordMigration(ctx context.Context, tx *sql.Tx, m Migration, prefix string) error {
	if _, err := tx.ExecContext(ctx, migrationsTable); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES(?, ?, ?)`,
		m.Version, prefix+m.Name, c.nowMillis()); err != nil {
		return fmt.Errorf("recording migration %s: %w", m.Name, err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('schema_version', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, strconv.Itoa(m.Version))
	return err
}

// openSchema brings the catalog's schema to this binary's: it refuses a
// newer one, and does with pending migrations what policy says. left tells
// that migrations are still pending (LeavePending).
func (c *DB) openSchema(ctx context.Context, policy MigratePolicy) (left bool, err error) {
	v, adopt, err := c.d.appliedVersion(ctx, c.w)
	if err != nil {
		return false, err
	}
	if err := c.checkNotNewer(v); err != nil {
		return false, err
	}
	if v == len(c.migrations) && !adopt {
		return false, nil
	}
	adoptOnly := adopt && v == len(c.migrations) // records the first release's schema, changes none
	switch {
	case policy == MigrateOnOpen || adoptOnly:
		_, err = c.Migrate(ctx)
		return false, err
	case policy == RefusePending:
		return false, fmt.Errorf("%w (schema version %d, this mtm's is %d)", ErrMigrationsPending, v, len(c.migrations))
	}
	return true, nil
}

// SchemaStatus is where a catalog's schema stands against this binary's.
type SchemaStatus struct {
	Exists  bool // the catalog file exists
	Version int  // the highest migration applied (1 for a first-release catalog)
	Latest  int  // this binary's last migration
}

// Pending is how many of this binary's migrations the catalog lacks.
func (s SchemaStatus) Pending() int { return max(s.Latest-s.Version, 0) }

// Inspect reads the schema version of the catalog at path without
// changing or creating anything.
func Inspect(ctx context.Context, path string) (SchemaStatus, error) {
	ms, err := loadMigrations(embeddedMigrations, "migrations/sqlite")
	if err != nil {
		return SchemaStatus{}, err
	}
	st := SchemaStatus{Latest: len(ms)}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	st.Exists = true
	db, err := openPool(path, true)
	if err != nil {
		return st, err
	}
	defer db.Close() //nolint:errcheck // read only
	st.Version, _, err = dialect{}.appliedVersion(ctx, db)
	return st, err
}

package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"mtm/internal/clock"
	"mtm/internal/pgsql"
)

// OpenPostgres opens the catalog in the PostgreSQL database at url
// (docs/design.md, "The catalog on PostgreSQL"), with at most maxConns
// connections (0: pgx's default).
func OpenPostgres(ctx context.Context, url string, maxConns int, opts Options) (*DB, error) {
	pg, err := pgsql.Open(ctx, url, maxConns)
	if err != nil {
		return nil, err
	}
	c := newDB(opts)
	c.d = dialect{pg: true}
	c.w, c.r, c.closePool, c.pool = pg.SQL, pg.SQL, pg.Close, pg.Pool
	if c.migrations == nil {
		if c.migrations, err = loadMigrations(embeddedMigrations, "migrations/postgres"); err != nil {
			return nil, errors.Join(fmt.Errorf("catalog: %w", err), pg.Close())
		}
	}
	pending, err := c.openSchema(ctx, opts.Migrate)
	if err == nil && !pending && !opts.CopyTarget {
		err = c.refuseUnfinishedCopy(ctx)
	}
	if err != nil {
		return nil, errors.Join(err, pg.Close())
	}
	return c.keepStatements(ctx, pending)
}

// retryable tells whether PostgreSQL refused a transaction only because it
// could not serialize it with others (or chose it as a deadlock's victim):
// running it again may succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// newDB returns a catalog with the options' defaults, not yet connected.
func newDB(opts Options) *DB {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Owner == "" {
		opts.Owner = DefaultOwner()
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = 2 * time.Minute
	}
	return &DB{clk: opts.Clock, loc: opts.Location, owner: opts.Owner, staleAfter: opts.StaleAfter,
		migrations: opts.migrations}
}

// isUniqueViolation tells whether err is a unique constraint's refusal, on
// either back-end.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// InspectPostgres connects to the catalog at url and reads its schema
// version, changing nothing.
func InspectPostgres(ctx context.Context, url string) (SchemaStatus, error) {
	ms, err := loadMigrations(embeddedMigrations, "migrations/postgres")
	if err != nil {
		return SchemaStatus{}, err
	}
	st := SchemaStatus{Latest: len(ms)}
	pg, err := pgsql.Open(ctx, url, 2)
	if err != nil {
		return st, err
	}
	defer pg.Close() //nolint:errcheck // read only
	st.Version, _, err = dialect{pg: true}.appliedVersion(ctx, pg.SQL)
	st.Exists = st.Version > 0
	return st, err
}

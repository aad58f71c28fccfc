package catalog

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// riverSchemaVersion is the version of River's schema that migration 4
// brings the catalog to: the latest of the River release go.mod pins
// (v0.51.2). A River upgrade that adds migrations adds a catalog migration
// that brings it further.
const riverSchemaVersion = 8

// migrateRiver creates the job queue's tables with River's own migrator
// (docs/design.md, "Jobs and nodes"), one transaction per River step.
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: riverSchemaVersion})
	return err
}

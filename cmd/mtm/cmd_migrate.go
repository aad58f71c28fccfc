package main

import (
	"context"
	"fmt"

	"mtm/internal/catalog"
	"mtm/internal/store"
)

// runMigrate is `mtm migrate`: it applies the catalog's pending schema
// migrations, or with --dry-run lists them.
func runMigrate(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "migrate")
	dryRun := fs.Bool("dry-run", false, "list the pending migrations and change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	clk, err := clockFor(env)
	if err != nil {
		return err
	}
	opts := storeOptions(cfg, clk)
	opts.Migrate = catalog.LeavePending
	st, err := store.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer st.Close() //nolint:errcheck // each migration commits on its own
	pending, err := st.Catalog.Pending(ctx)
	if err != nil {
		return err
	}
	for _, m := range pending {
		fmt.Fprintf(env.stdout, "pending: %d %s\n", m.Version, m.Name)
	}
	if *dryRun || len(pending) == 0 {
		if len(pending) == 0 {
			fmt.Fprintln(env.stdout, "the catalog's schema is up to date")
		} else {
			fmt.Fprintln(env.stdout, "dry run: nothing changed")
		}
		return nil
	}
	applied, err := st.Catalog.Migrate(ctx)
	for _, m := range applied {
		fmt.Fprintf(env.stdout, "applied: %d %s\n", m.Version, m.Name)
	}
	return err
}

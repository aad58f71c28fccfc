package main

import (
	"context"
	"fmt"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/pgsql"
	"mtm/internal/store"
)

func runCatalog(ctx context.Context, env *environment, args []string) error {
	if err := subcommandHelp(env, "catalog", args); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "copy" {
		return fmt.Errorf("%w: catalog copy --from DATA_DIR --to postgres://USER@HOST/DB", errUsage)
	}
	return runCatalogCopy(ctx, env, args[1:])
}

// runCatalogCopy is `mtm catalog copy`: the embedded catalog of a data
// directory into an empty PostgreSQL catalog, with progress.
func runCatalogCopy(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "catalog copy")
	from := fs.String("from", "", "the data directory whose embedded catalog is copied (default: the config's data_dir)")
	to := fs.String("to", "", "the PostgreSQL catalog's URL (default: the config's [catalog] url)")
	if err := parse(fs, args); err != nil {
		return err
	}
	maxConns := 4
	if *from == "" || *to == "" {
		cfg, err := loadConfig(env, *cfgPath)
		if err != nil {
			return err
		}
		if *from == "" {
			*from = cfg.DataDir
		}
		if *to == "" {
			*to = cfg.Catalog.URL
		}
	}
	if *to == "" {
		return fmt.Errorf("%w: --to postgres://USER@HOST/DB (or [catalog] url) is required", errUsage)
	}
	clk, err := clockFor(env)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "copying the catalog of %s into %s\n", *from, pgsql.Redact(*to))
	var last time.Time
	res, err := store.CopyCatalog(ctx, store.CopyOptions{From: *from, To: *to, MaxConnections: maxConns, Clock: clk,
		Progress: func(p catalog.CopyProgress) {
			if now := clk.Now(); p.Rows == p.Total || now.Sub(last) >= time.Second {
				last = now
				fmt.Fprintf(env.stdout, "  %s: %d of %d rows\n", p.Table, p.Rows, p.Total)
			}
		}})
	if res.StartedOver {
		fmt.Fprintln(env.stdout, "the target held an interrupted copy: started it over")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "copied %d rows of %d tables; search index rebuilt for %d messages\n", res.Rows, res.Tables, res.Indexed)
	fmt.Fprintln(env.stdout, "check it with `mtm check` with [catalog] url set to the target, then point every mtm at it")
	return nil
}

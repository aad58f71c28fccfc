package main

import (
	"context"
	"fmt"

	"mtm/internal/bytesize"
	"mtm/internal/config"
	"mtm/internal/prune"
)

func runPrune(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "prune")
	dryRun := fs.Bool("dry-run", false, "print the plan (snapshots to drop, rows, blobs and bytes to free) and change nothing")
	wait := fs.Duration("wait", prune.DefaultWait, "how long to wait for running snapshots before deferring blob deletion")
	if err := parse(fs, args); err != nil {
		return err
	}
	var pol prune.Policy
	op, err := openCommand(ctx, env, *cfgPath, openOptions{before: func(cfg *config.Config) error {
		listed, err := config.ReadAccounts(cfg.Accounts.File)
		if err != nil {
			return fmt.Errorf("accounts.file (prune keeps the last good snapshot of every listed account): %w", err)
		}
		pol = prune.NewPolicy(cfg.RetentionDays, cfg.Location, listed)
		pol.AuditDays = cfg.Audit.RetentionDays
		return nil
	}})
	if err != nil {
		return err
	}
	cfg, clk, st := op.cfg, op.clk, op.st
	defer st.Close() //nolint:errcheck // every change was committed or reported before
	plan, err := prune.MakePlan(ctx, st.Catalog, st.Blobs, pol, clk)
	if err != nil {
		return err
	}
	if _, err := plan.WriteTo(env.stdout); err != nil {
		return err
	}
	if *dryRun {
		fmt.Fprintln(env.stdout, "dry run: nothing changed")
		return nil
	}
	res, err := plan.Execute(ctx, st.Catalog, st.Blobs, prune.Options{Wait: *wait, Clock: clk, Logger: newLogger(env, cfg)})
	if err != nil {
		return err
	}
	e := res.Expiry
	fmt.Fprintf(env.stdout, "pruned: %d snapshots, %d message versions, %d folder versions, %d contents; "+
		"deleted %d blobs, freed %s\n", e.Snapshots, e.Entries, e.Folders, e.Contents, res.BlobsDeleted,
		bytesize.Format(res.BytesFreed))
	if c := res.Compacted; c.PacksDeleted+c.PacksRewritten > 0 {
		fmt.Fprintf(env.stdout, "packs: %d deleted, %d rewritten (%d blobs moved), %s freed on disk\n",
			c.PacksDeleted, c.PacksRewritten, c.BlobsMoved, bytesize.Format(c.BytesFreed))
	}
	if res.Spared > 0 {
		fmt.Fprintf(env.stdout, "spared %d blobs that a running snapshot stored again\n", res.Spared)
	}
	if res.Deferred != nil {
		fmt.Fprintf(env.stdout, "blob deletion deferred to the next prune: %v\n", res.Deferred)
	}
	return nil
}

package main

import (
	"context"
	"fmt"

	"mtm/internal/restore"
)

// runRestore is the operator's restore: it runs at once, without the
// request and approval of the web workflow, and prints what it did.
func runRestore(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "restore")
	account := fs.String("account", "", "the account's address (required)")
	snapArg := fs.String("snapshot", "", "snapshot id, or a day YYYY-MM-DD for that day's last snapshot (required)")
	var folders multiFlag
	fs.Var(&folders, "folder", "restore only this folder and its subfolders (repeatable); default: all")
	target := fs.String("target", restore.TargetOriginal, "original (back where they were) or separate (under Restored/DAY)")
	dryRun := fs.Bool("dry-run", false, "print what would be restored and change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *account == "" || *snapArg == "" {
		return fmt.Errorf("%w: --account and --snapshot are required", errUsage)
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{imap: true})
	if err != nil {
		return err
	}
	st := op.st
	defer st.Close() //nolint:errcheck // appends are recorded as they happen
	snap, err := findSnapshot(ctx, st.Catalog, *account, *snapArg)
	if err != nil {
		return err
	}
	runner := &restore.Runner{Catalog: st.Catalog, Blobs: st.Blobs, Server: op.imap,
		Connections: op.cfg.IMAP.ConnectionsPerAccount, Clock: op.clk}
	req := restore.Request{Snapshot: snap, Address: *account, Folders: folders, Target: *target}
	printPlan := func(p *restore.Plan) error { _, err := p.WriteTo(env.stdout); return err }
	if *dryRun {
		plan, err := runner.Preview(ctx, req)
		if err != nil {
			return err
		}
		if err := printPlan(plan); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, "dry run: nothing changed")
		return nil
	}
	planned := false
	res, err := runner.Run(ctx, req, restore.RunOptions{Planned: func(p *restore.Plan) error {
		planned = true
		return printPlan(p)
	}})
	if !planned {
		return err
	}
	fmt.Fprintf(env.stdout, "restored %d messages, recreated %d folders, skipped %d still present, %d failed\n",
		res.Appended, res.Created, res.Skipped, res.Failed)
	for _, f := range res.Folders {
		for _, e := range f.Errors {
			fmt.Fprintf(env.stdout, "failed in %q: %s\n", f.Folder, e)
		}
	}
	return err
}

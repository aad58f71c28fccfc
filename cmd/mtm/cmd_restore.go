package main

import (
	"context"
	"fmt"
	"time"

	"mtm/internal/imapconn"
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
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.CheckIMAPAuth(); err != nil {
		return err
	}
	server, err := imapServer(cfg)
	if err != nil {
		return err
	}
	clk, err := clockFor(env)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, clk)
	if err != nil {
		return err
	}
	defer st.close() //nolint:errcheck // appends are recorded as they happen
	snap, err := findSnapshot(ctx, st.cat, *account, *snapArg)
	if err != nil {
		return err
	}
	conns, err := imapconn.DialN(ctx, server, *account, cfg.IMAP.ConnectionsPerAccount)
	if err != nil {
		return err
	}
	defer imapconn.CloseAll(conns)
	cn := conns[0]
	req := restore.Request{Snapshot: snap, Folders: folders, Target: *target}
	// After an attempt that may have died, let the server finish storing
	// what it had been sent before the live mailbox is read.
	recent, err := st.cat.RecentAppends(ctx, snap.Account, clk.Now().Add(-time.Hour))
	if err != nil {
		return err
	}
	if recent && !*dryRun {
		req.Settle = time.Second
	}
	plan, err := restore.MakePlan(ctx, st.cat, cn, req)
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
	res, err := plan.Execute(ctx, st.cat, st.blobs, conns, nil)
	if res != nil {
		fmt.Fprintf(env.stdout, "restored %d messages, recreated %d folders, skipped %d still present, %d failed\n",
			res.Appended, res.Created, res.Skipped, res.Failed)
		for _, f := range res.Folders {
			for _, e := range f.Errors {
				fmt.Fprintf(env.stdout, "failed in %q: %s\n", f.Folder, e)
			}
		}
	}
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d messages could not be restored", res.Failed)
	}
	return nil
}

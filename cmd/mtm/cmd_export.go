package main

import (
	"context"
	"errors"
	"fmt"

	"mtm/internal/catalog"
	"mtm/internal/export"
)

func runExport(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "export")
	account := fs.String("account", "", "the account's address (required)")
	snapArg := fs.String("snapshot", "", "snapshot id, or a day YYYY-MM-DD for that day's last snapshot (required)")
	var folders multiFlag
	fs.Var(&folders, "folder", "export only this folder (repeatable); default: all")
	format := fs.String("format", "maildir", "maildir (byte-exact) or mbox (mboxrd)")
	out := fs.String("out", "", "output directory; must be empty or absent (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *account == "" || *snapArg == "" || *out == "" {
		return fmt.Errorf("%w: --account, --snapshot and --out are required", errUsage)
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{})
	if err != nil {
		return err
	}
	st := op.st
	defer st.Close() //nolint:errcheck // read only
	snap, err := findSnapshot(ctx, st.Catalog, *account, *snapArg)
	if err != nil {
		return err
	}
	w, err := export.Open(*format, *out)
	if errors.Is(err, export.ErrFormat) {
		return fmt.Errorf("%w: --format: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	n, err := export.Snapshot(ctx, st.Catalog, st.Blobs, snap, folders, w)
	if err = errors.Join(err, w.Close()); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "exported %d messages of snapshot %d (%s) to %s\n", n, snap.ID, snap.Day, *out)
	return nil
}

// findSnapshot resolves --snapshot, marking a malformed one as a usage
// error.
func findSnapshot(ctx context.Context, cat catalog.SnapshotFinder, account, ref string) (catalog.Snapshot, error) {
	snap, err := catalog.FindSnapshot(ctx, cat, account, ref)
	if errors.Is(err, catalog.ErrBadSnapshotRef) {
		return snap, fmt.Errorf("%w: --snapshot: %v", errUsage, err)
	}
	return snap, err
}

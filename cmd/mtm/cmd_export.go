package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"mtm/internal/blobstore"
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
	_, _, st, err := openCommand(ctx, env, *cfgPath)
	if err != nil {
		return err
	}
	defer st.close() //nolint:errcheck // read only
	snap, err := findSnapshot(ctx, st.cat, *account, *snapArg)
	if err != nil {
		return err
	}
	var w export.Writer
	switch *format {
	case "maildir":
		w, err = export.NewMaildir(*out)
	case "mbox":
		w, err = export.NewMbox(*out)
	default:
		return fmt.Errorf("%w: --format %q is not maildir or mbox", errUsage, *format)
	}
	if err != nil {
		return err
	}
	n, err := exportSnapshot(ctx, st, snap, folders, w)
	if err = errors.Join(err, w.Close()); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "exported %d messages of snapshot %d (%s) to %s\n", n, snap.ID, snap.Day, *out)
	return nil
}

// findSnapshot resolves an id or a day to a committed snapshot of account.
func findSnapshot(ctx context.Context, cat *catalog.DB, account, arg string) (catalog.Snapshot, error) {
	acct, err := cat.LookupAccount(ctx, account)
	if err != nil {
		return catalog.Snapshot{}, err
	}
	if _, err := time.Parse(time.DateOnly, arg); err == nil {
		return cat.SnapshotOfDay(ctx, acct, arg)
	}
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return catalog.Snapshot{}, fmt.Errorf("%w: --snapshot %q is neither an id nor a YYYY-MM-DD day", errUsage, arg)
	}
	s, err := cat.Snapshot(ctx, catalog.SnapshotID(id))
	if err != nil {
		return catalog.Snapshot{}, err
	}
	if s.Account != acct {
		return catalog.Snapshot{}, fmt.Errorf("snapshot %d: %w", id, catalog.ErrNotFound)
	}
	if s.State != catalog.StateCommitted {
		return catalog.Snapshot{}, fmt.Errorf("snapshot %d is %s: only committed snapshots can be exported", id, s.State)
	}
	return s, nil
}

func exportSnapshot(ctx context.Context, st *store, snap catalog.Snapshot, only []string, w export.Writer) (int, error) {
	all, err := st.cat.Folders(ctx, snap)
	if err != nil {
		return 0, err
	}
	want := make(map[string]bool, len(only))
	for _, f := range only {
		want[f] = true
	}
	n := 0
	for _, f := range all {
		if len(want) > 0 && !want[f.Name] {
			continue
		}
		delete(want, f.Name)
		fw, err := w.Folder(export.Folder{Name: f.Name, Delimiter: f.Delimiter})
		if err != nil {
			return n, err
		}
		if f.MailboxID != 0 {
			err = st.cat.Messages(ctx, snap, f.MailboxID, func(m catalog.Message) error {
				n++
				h := blobstore.Hash(m.Hash)
				return fw.Add(export.Message{UID: m.UID, Flags: m.Flags, InternalDate: m.InternalDate, Size: m.Size,
					Open: func() (io.ReadCloser, error) { return st.blobs.Open(ctx, h) }})
			})
		}
		if err = errors.Join(err, fw.Close()); err != nil {
			return n, err
		}
	}
	for f := range want {
		return n, fmt.Errorf("folder %q is not in snapshot %d", f, snap.ID)
	}
	return n, nil
}

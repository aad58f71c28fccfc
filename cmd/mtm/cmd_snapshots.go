package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"mtm/internal/bytesize"
	"mtm/internal/catalog"
)

// snapshotJSON is the --json form of one snapshot, stable for scripts.
type snapshotJSON struct {
	ID              int64  `json:"id"`
	Account         string `json:"account"`
	Day             string `json:"day"`
	TakenAt         string `json:"taken_at"`
	FinishedAt      string `json:"finished_at,omitempty"`
	State           string `json:"state"`
	Error           string `json:"error,omitempty"`
	Folders         int64  `json:"folders"`
	Messages        int64  `json:"messages"`
	Bytes           int64  `json:"bytes"`
	FetchedMessages int64  `json:"fetched_messages"`
	FetchedBytes    int64  `json:"fetched_bytes"`
	NewBlobs        int64  `json:"new_blobs"`
	NewBlobBytes    int64  `json:"new_blob_bytes"`
}

func runSnapshots(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "snapshots")
	account := fs.String("account", "", "the account's address (required)")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	all := fs.Bool("all", false, "include failed and running snapshots")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *account == "" {
		return fmt.Errorf("%w: --account is required", errUsage)
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{})
	if err != nil {
		return err
	}
	cfg, st := op.cfg, op.st
	defer st.Close() //nolint:errcheck // read only
	acct, err := st.Catalog.LookupAccount(ctx, *account)
	if err != nil {
		return err
	}
	snaps, err := st.Catalog.Snapshots(ctx, acct)
	if err != nil {
		return err
	}
	var shown []catalog.Snapshot
	for _, s := range snaps {
		if *all || s.State == catalog.StateCommitted {
			shown = append(shown, s)
		}
	}
	if *asJSON {
		out := make([]snapshotJSON, 0, len(shown))
		for _, s := range shown {
			out = append(out, toJSON(*account, s, cfg.Location))
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	for _, s := range shown {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d folders\t%d messages\t%s\t%s\n", s.ID, s.Day,
			s.TakenAt.In(cfg.Location).Format("15:04:05 MST"), s.State, s.Folders, s.Messages, bytesize.Format(s.Bytes), s.Error)
	}
	return tw.Flush()
}

func toJSON(account string, s catalog.Snapshot, loc *time.Location) snapshotJSON {
	j := snapshotJSON{ID: int64(s.ID), Account: account, Day: s.Day, TakenAt: s.TakenAt.In(loc).Format(time.RFC3339),
		State: s.State, Error: s.Error, Folders: s.Folders, Messages: s.Messages, Bytes: s.Bytes,
		FetchedMessages: s.FetchedMessages, FetchedBytes: s.FetchedBytes, NewBlobs: s.NewBlobs, NewBlobBytes: s.NewBlobBytes}
	if !s.FinishedAt.IsZero() {
		j.FinishedAt = s.FinishedAt.In(loc).Format(time.RFC3339)
	}
	return j
}

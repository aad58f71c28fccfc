package main

import (
	"context"
	"fmt"
	"time"

	"mtm/internal/bytesize"
	"mtm/internal/store"
)

func runBlobs(ctx context.Context, env *environment, args []string) error {
	if err := subcommandHelp(env, "blobs", args); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "copy" {
		return fmt.Errorf("%w: blobs copy [--to s3://BUCKET/PREFIX]", errUsage)
	}
	return runBlobsCopy(ctx, env, args[1:])
}

// runBlobsCopy is `mtm blobs copy`: the local blob store of the data
// directory into S3, resumable, with progress.
func runBlobsCopy(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "blobs copy")
	to := fs.String("to", "", "the bucket, s3://BUCKET/PREFIX (default: the config's [blobs] url; endpoint, region and credentials come from [blobs])")
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
	if *to != "" {
		opts.S3.URL = *to
	}
	if opts.S3.URL == "" {
		return fmt.Errorf("%w: --to s3://BUCKET/PREFIX (or [blobs] url) is required", errUsage)
	}
	fmt.Fprintf(env.stdout, "copying the blobs of %s into %s\n", cfg.DataDir, opts.S3.URL)
	var last time.Time
	res, err := store.CopyBlobs(ctx, store.BlobsCopyOptions{Store: opts, Progress: func(copied, present, seen int64) {
		if now := clk.Now(); now.Sub(last) >= time.Second {
			last = now
			fmt.Fprintf(env.stdout, "  %d blobs listed: %d copied, %d there already\n", seen, copied, present)
		}
	}})
	fmt.Fprintf(env.stdout, "copied %d blobs (%s); %d were there already\n", res.Copied, bytesize.Format(res.Bytes), res.Present)
	if err != nil {
		return fmt.Errorf("%w (run the copy again to go on)", err)
	}
	fmt.Fprintln(env.stdout, "set [blobs] url to the bucket, check with `mtm check --read-data`, then keep data_dir/blobs until the first night has run")
	return nil
}

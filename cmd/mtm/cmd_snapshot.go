package main

import (
	"context"
	"fmt"

	"mtm/internal/config"
	"mtm/internal/progress"
	"mtm/internal/snapshot"
)

func runSnapshot(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "snapshot")
	var accounts multiFlag
	fs.Var(&accounts, "account", "snapshot only this account (repeatable); default: every account of accounts.file")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE` (go tool pprof FILE)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{imap: true, before: func(cfg *config.Config) (err error) {
		if len(accounts) == 0 {
			accounts, err = config.ReadAccounts(cfg.Accounts.File)
		}
		return err
	}})
	if err != nil {
		return err
	}
	cfg, clk, st := op.cfg, op.clk, op.st
	defer st.Close() //nolint:errcheck // read-mostly at this point; commit errors are reported per account
	log := newLogger(env, cfg)
	rep := progress.New(env.stderr, log, clk, len(accounts))
	eng := snapshot.New(st.Catalog, st.Blobs, snapshot.Options{
		Server:                op.imap,
		ConnectionsPerAccount: cfg.IMAP.ConnectionsPerAccount,
		ConcurrentAccounts:    cfg.ConcurrentAccounts,
		Clock:                 clk, Logger: log, Progress: rep,
	})
	results := eng.Run(ctx, accounts)
	rep.Finish()
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			log.Error("snapshot failed", "account", r.Address, "err", r.Err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d accounts failed", failed, len(results))
	}
	return ctx.Err()
}

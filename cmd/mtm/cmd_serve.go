package main

import (
	"context"

	"mtm/internal/serve"
)

func runServe(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "serve")
	if err := parse(fs, args); err != nil {
		return err
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{imap: true})
	if err != nil {
		return err
	}
	defer op.st.Close() //nolint:errcheck // every change is committed by the time serve returns
	a, err := serve.New(op.cfg, op.st, op.imap, op.clk, newLogger(env, op.cfg))
	if err != nil {
		return err
	}
	a.Ready, a.OpsReady, a.IMAPReady = env.ready, env.opsReady, env.imapReady
	return a.Run(ctx)
}

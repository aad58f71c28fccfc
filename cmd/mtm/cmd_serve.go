package main

import (
	"context"

	"mtm/internal/imapconn"
	"mtm/internal/serve"
)

func runServe(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "serve")
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
	server, err := imapconn.FromConfig(cfg)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, clk)
	if err != nil {
		return err
	}
	defer st.Close() //nolint:errcheck // every change is committed by the time serve returns
	a, err := serve.New(cfg, st, server, clk, newLogger(env, cfg))
	if err != nil {
		return err
	}
	a.Ready = env.ready
	return a.Run(ctx)
}

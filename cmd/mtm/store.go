package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/store"
)

// openStore opens the configured data directory.
func openStore(ctx context.Context, cfg *config.Config, clk clock.Clock) (*store.Store, error) {
	return store.Open(ctx, store.Options{DataDir: cfg.DataDir, Clock: clk, Location: cfg.Location})
}

func loadConfig(env *environment, path string) (*config.Config, error) {
	cfg, err := config.Load(path, env.getenv)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func newLogger(env *environment, cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(env.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.stderr, opts))
}

// nowEnv names the environment variable that, for tests and benchmarks,
// starts mtm's clock at an RFC 3339 time instead of the system's.
const nowEnv = "MTMTEST_NOW"

// clockFor returns the clock of a command: the system clock, or one
// shifted to $MTMTEST_NOW.
func clockFor(env *environment) (clock.Clock, error) {
	for _, kv := range env.getenv {
		v, ok := strings.CutPrefix(kv, nowEnv+"=")
		if !ok || v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", nowEnv, err)
		}
		return clock.ShiftedTo(t), nil
	}
	return clock.Real{}, nil
}

// openCommand loads the configuration at cfgPath, makes the command's
// clock and opens the store: the start of most commands.
func openCommand(ctx context.Context, env *environment, cfgPath string) (*config.Config, clock.Clock, *store.Store, error) {
	cfg, err := loadConfig(env, cfgPath)
	if err != nil {
		return nil, nil, nil, err
	}
	clk, err := clockFor(env)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStore(ctx, cfg, clk)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, clk, st, nil
}

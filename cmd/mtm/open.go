package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/imapconn"
	"mtm/internal/store"
)

// openStore opens the configured data directory, applying the catalog's
// pending migrations if [catalog] auto_migrate says so.
func openStore(ctx context.Context, cfg *config.Config, clk clock.Clock) (*store.Store, error) {
	return store.Open(ctx, storeOptions(cfg, clk))
}

// storeOptions are the store options of the configuration.
func storeOptions(cfg *config.Config, clk clock.Clock) store.Options {
	policy := catalog.MigrateOnOpen
	if !cfg.Catalog.AutoMigrate {
		policy = catalog.RefusePending
	}
	b := cfg.Blobs
	return store.Options{DataDir: cfg.DataDir, Clock: clk, Location: cfg.Location, Migrate: policy,
		CatalogURL: cfg.Catalog.URL, MaxConnections: cfg.Catalog.MaxConnections,
		S3: store.S3Options{URL: b.URL, Endpoint: b.Endpoint, Region: b.Region, PathStyle: b.PathStyle,
			AccessKeyID: b.AccessKeyID, SecretAccessKey: b.SecretAccessKey, PackSizeMiB: b.PackSizeMiB,
			UploadConcurrency: b.UploadConcurrency}}
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
// starts mtm's clock at an RFC 3339 time instead of the system's. With
// nowAtEnv also set (an RFC 3339 system time), the clock read $MTMTEST_NOW
// at that system time, so processes started one after another share one
// time line to the nanosecond, as a fleet's NTP clocks do.
const (
	nowEnv   = "MTMTEST_NOW"
	nowAtEnv = "MTMTEST_NOW_AT"
)

// clockFor returns the clock of a command: the system clock, or one
// shifted to $MTMTEST_NOW (at $MTMTEST_NOW_AT, or now).
func clockFor(env *environment) (clock.Clock, error) {
	var now, at time.Time
	for _, kv := range env.getenv {
		name, v, _ := strings.Cut(kv, "=")
		if v == "" || name != nowEnv && name != nowAtEnv {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if name == nowEnv {
			now = t
		} else {
			at = t
		}
	}
	switch {
	case now.IsZero():
		return clock.Real{}, nil
	case at.IsZero():
		return clock.ShiftedTo(now), nil
	}
	return clock.Shifted{Offset: now.Sub(at)}, nil
}

// opened is what most commands start from: the configuration, the
// command's clock, the open store and, for commands that talk to the live
// server, its settings.
type opened struct {
	cfg  *config.Config
	clk  clock.Clock
	st   *store.Store
	imap imapconn.Server
}

// openOptions say what a command needs besides its configuration.
type openOptions struct {
	imap bool // the live IMAP server's settings (imapconn.FromConfig)
	// before, if set, runs after the configuration is loaded and before
	// the store is opened (to read the accounts file, say).
	before func(*config.Config) error
}

// openCommand loads the configuration at cfgPath, makes the command's
// clock and opens the store: the start of most commands. The caller closes
// the store.
func openCommand(ctx context.Context, env *environment, cfgPath string, o openOptions) (*opened, error) {
	cfg, err := loadConfig(env, cfgPath)
	if err != nil {
		return nil, err
	}
	op := &opened{cfg: cfg}
	if o.imap {
		if op.imap, err = imapconn.FromConfig(cfg); err != nil {
			return nil, err
		}
	}
	if o.before != nil {
		if err := o.before(cfg); err != nil {
			return nil, err
		}
	}
	if op.clk, err = clockFor(env); err != nil {
		return nil, err
	}
	if op.st, err = openStore(ctx, cfg, op.clk); err != nil {
		return nil, err
	}
	return op, nil
}

// startCPUProfile writes a CPU profile to path until the returned function
// is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("--cpuprofile: %w", err), f.Close())
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close() // a profile cut short is still readable
	}, nil
}

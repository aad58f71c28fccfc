package main

import (
	"context"
	"log/slog"
	"time"

	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/imapconn"
	"mtm/internal/store"
	"mtm/internal/webauth"
	"mtm/internal/webmail"
)

// indexEvery is how often serve indexes new snapshots for search.
const indexEvery = time.Minute

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
	a, err := newApp(cfg, st, server, clk, newLogger(env, cfg))
	if err != nil {
		return err
	}
	a.ready = env.ready
	return a.run(ctx)
}

// newWebmail builds the webmail over an open store. Logins are checked
// against the IMAP server with the account's own password, never the
// master user.
func newWebmail(cfg *config.Config, st *store.Store, clk clock.Clock, log *slog.Logger, more ...func(*webmail.Options)) (*webmail.Server, error) {
	o := webmail.Options{
		Catalog:         st.Catalog.Browser(), // statements prepared once, kept while the catalog is open
		Blobs:           st.Blobs,
		Verifier:        webauth.IMAPVerifier{Server: imapconn.Endpoint(cfg)},
		Clock:           clk,
		Location:        cfg.Location,
		RetentionDays:   cfg.RetentionDays,
		BaseURL:         cfg.BaseURL,
		MasterSeparator: cfg.IMAP.MasterSeparator,
		Logger:          log,
	}
	for _, f := range more {
		f(&o)
	}
	return webmail.New(o)
}

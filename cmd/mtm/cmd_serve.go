package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"mtm/internal/auth"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/search"
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
	clk := clock.Real{}
	st, err := openStore(ctx, cfg, clk)
	if err != nil {
		return err
	}
	defer st.close() //nolint:errcheck // the webmail only reads the catalog; the index writes are committed
	log := newLogger(env, cfg)
	srv, err := newWebmail(cfg, st, clk, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ix := &search.Indexer{Catalog: st.cat, Blobs: st.blobs, Log: log}
	go ix.Run(ctx, indexEvery)

	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	log.Info("webmail listening", "address", ln.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shut, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := hs.Shutdown(shut); err != nil {
		return fmt.Errorf("stopping the web server: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newWebmail builds the webmail over an open store. Logins are checked
// against the IMAP server with the account's own password, never the
// master user.
func newWebmail(cfg *config.Config, st *store, clk clock.Clock, log *slog.Logger) (*webmail.Server, error) {
	return webmail.New(webmail.Options{
		Catalog: st.cat,
		Blobs:   st.blobs,
		Verifier: auth.IMAPVerifier{Address: cfg.IMAP.Address, TLS: string(cfg.IMAP.TLS),
			InsecureSkipVerify: cfg.IMAP.InsecureSkipVerify, Timeout: cfg.IMAP.Timeout},
		Clock:           clk,
		Location:        cfg.Location,
		RetentionDays:   cfg.RetentionDays,
		BaseURL:         cfg.BaseURL,
		MasterSeparator: cfg.IMAP.MasterSeparator,
		Logger:          log,
	})
}

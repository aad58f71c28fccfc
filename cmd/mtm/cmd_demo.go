package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mtm/internal/alert"
	"mtm/internal/clock"
	"mtm/internal/demo"
	"mtm/internal/dovecotctl"
	"mtm/internal/notify"
)

// The demo's admin, for the banner and the tests.
const (
	demoAdmin         = demo.AdminEmail
	demoAdminPassword = demo.AdminPassword
)

func runDemo(ctx context.Context, env *environment, args []string) (err error) {
	fs, _ := newFlags(env, "demo")
	data := fs.String("data", "", "data directory (kept); default: a temporary one, removed at exit")
	listen := fs.String("listen", "127.0.0.1:8080", "host:port of the web UI (port 0 picks a free one)")
	messages := fs.Int("messages", 4000, "about how many messages the main account holds")
	useDovecot := fs.Bool("dovecot", false, "serve the accounts from a private Dovecot (if installed) instead of the in-memory IMAP server")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *messages < 100 || *messages > 100000 {
		return fmt.Errorf("%w: --messages must be between 100 and 100000", errUsage)
	}
	if *useDovecot {
		if _, _, err := dovecotctl.Find(); err != nil {
			return fmt.Errorf("--dovecot: %w; install it with `apt-get install dovecot-imapd` (Debian, Ubuntu), or run the demo without --dovecot", err)
		}
	}
	dir, cleanup, err := demo.DataDir(*data)
	if errors.Is(err, demo.ErrNotDemoDir) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	addr, err := demo.ListenAddr(*listen)
	if errors.Is(err, demo.ErrBadListen) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	if !demo.Loopback(addr) {
		fmt.Fprintf(env.stderr, "warning: the demo listens on %s with well-known passwords; anyone who reaches it can log in\n", addr)
	}
	start := clock.Real{}.Now()
	imapAddr, stopIMAP, err := demo.StartIMAPServer(dir, *useDovecot, env.stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopIMAP()) }()
	outbox, err := demo.StartOutbox(clock.Real{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, outbox.Close()) }()

	cfgPath, err := demo.WriteConfig(dir, addr, demo.LocalZone(env.getenv), imapAddr, outbox.SMTPAddr())
	if err != nil {
		return err
	}
	cfg, err := loadConfig(env, cfgPath)
	if err != nil {
		return fmt.Errorf("the demo's config: %w", err)
	}
	fmt.Fprintf(env.stdout, "Mail Time Machine demo: building 15 days of snapshots in %s (%s)\n", dir, cfg.Timezone)
	hist, err := demo.Build(ctx, demo.BuildOptions{DataDir: dir, Location: cfg.Location, IMAPAddr: imapAddr,
		Messages: *messages, Seed: 1, Progress: env.stdout})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped by the user
		}
		return fmt.Errorf("building the history: %w", err)
	}
	st, err := openStore(ctx, cfg, clock.Real{})
	if err != nil {
		return err
	}
	mailer, err := notify.New(cfg, notify.Options{DefaultFrom: true})
	if err != nil {
		return errors.Join(err, st.Close())
	}
	warner := &alert.Notifier{Catalog: st.Catalog, Mailer: mailer, Alerts: cfg.Alerts}
	if err := errors.Join(demo.AddAdmin(ctx, st.Catalog), demo.Warn(ctx, warner, hist), st.Close()); err != nil {
		return err
	}
	// The banner is printed once serve listens, so that every URL in it
	// answers.
	serveEnv := *env
	var imapAt string
	serveEnv.imapReady = func(a string) { imapAt = a }
	serveEnv.ready = func(string) {
		printDemoBanner(env, cfg.BaseURL, outbox.URL(), imapAt, hist, clock.Real{}.Now().Sub(start))
		if env.ready != nil {
			env.ready(addr)
		}
	}
	return runServe(ctx, &serveEnv, []string{"--config", cfgPath})
}

func printDemoBanner(env *environment, base, outbox, imapAt string, h *demo.History, took time.Duration) {
	user := demo.Accounts()[0]
	w := env.stdout
	fmt.Fprintf(w, "\nReady in %.0fs: %d messages in 3 accounts, snapshots of %s to %s.\n\n",
		took.Seconds(), h.Messages, h.Days[0], h.Days[len(h.Days)-1])
	fmt.Fprintf(w, "  Webmail      %s\n", base)
	fmt.Fprintf(w, "               log in as %s, password %s\n", user.Addr, user.Password)
	fmt.Fprintf(w, "  Admin panel  %sadmin\n", base)
	fmt.Fprintf(w, "               log in as %s, password %s\n", demoAdmin, demoAdminPassword)
	fmt.Fprintf(w, "  Outbox       %s\n", outbox)
	fmt.Fprintf(w, "               the emails mtm sends (the warning that mail vanished, restores)\n")
	if imapAt != "" {
		fmt.Fprintf(w, "  IMAP         %s (no TLS, loopback)\n", imapAt)
		fmt.Fprintf(w, "               every day as folders, read-only, in your own mail client: the webmail's login\n")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Try it: the outbox has the warning that the folder %q vanished on %s.\n", demo.TripFolder, h.DeletedDay)
	fmt.Fprintf(w, "In the webmail, \"What changed?\" shows it; select the folder, request its restore,\n")
	fmt.Fprintf(w, "confirm it in the admin panel, and watch the outbox.\n")
	fmt.Fprintf(w, "Other accounts: ")
	for i, a := range demo.Accounts()[1:] {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s / %s", a.Addr, a.Password)
	}
	fmt.Fprintf(w, ".\nPress Ctrl-C to stop.\n\n")
}

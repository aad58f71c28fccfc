package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/demo"
	"mtm/internal/dovecotctl"
)

// The demo's admin account.
const (
	demoAdmin         = "admin@example.com"
	demoAdminPassword = "admin-demo-9753"
)

// demoMarker marks a data directory made by mtm demo, which a later
// mtm demo --data DIR may clear and fill again.
const demoMarker = ".mtm-demo"

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
	dir, cleanup, err := demoDataDir(*data)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	addr, err := demoListenAddr(*listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(strings.Trim(addr[:strings.LastIndexByte(addr, ':')], "[]")); ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(env.stderr, "warning: the demo listens on %s with well-known passwords; anyone who reaches it can log in\n", addr)
	}
	start := clock.Real{}.Now()
	imapAddr, stopIMAP, err := startDemoIMAP(env, dir, *useDovecot)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopIMAP()) }()
	outbox, err := demo.StartOutbox(clock.Real{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, outbox.Close()) }()

	cfgPath, err := writeDemoConfig(dir, addr, localZone(env.getenv), imapAddr, outbox.SMTPAddr())
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
	if err := addDemoAdmin(ctx, cfg); err != nil {
		return err
	}
	// The banner is printed once serve listens, so that every URL in it
	// answers.
	serveEnv := *env
	serveEnv.ready = func(string) {
		printDemoBanner(env, cfg.BaseURL, outbox.URL(), hist, clock.Real{}.Now().Sub(start))
		if env.ready != nil {
			env.ready(addr)
		}
	}
	return runServe(ctx, &serveEnv, []string{"--config", cfgPath})
}

// startDemoIMAP starts the IMAP server of the demo's accounts, with their
// own passwords: the in-memory one, or a private Dovecot in a directory
// under dir. It returns the server's address and how to stop it.
func startDemoIMAP(env *environment, dir string, useDovecot bool) (string, func() error, error) {
	if !useDovecot {
		srv, err := demo.StartIMAP(demo.Passwords())
		if err != nil {
			return "", nil, err
		}
		return srv.Addr(), srv.Close, nil
	}
	if os.Geteuid() == 0 {
		// Dovecot's mail processes run as another user and pass through
		// dir to reach their directory; they need not list it.
		fi, err := os.Stat(dir)
		if err != nil {
			return "", nil, fmt.Errorf("data dir: %w", err)
		}
		if err := os.Chmod(dir, fi.Mode().Perm()|0o001); err != nil {
			return "", nil, fmt.Errorf("data dir: %w", err)
		}
	}
	inst, err := dovecotctl.Launch(dovecotctl.Options{Parent: dir})
	if err != nil {
		return "", nil, fmt.Errorf("starting the demo's Dovecot: %w", err)
	}
	for _, a := range demo.Accounts() {
		if err := inst.AddUser(a.Addr, a.Password); err != nil {
			return "", nil, errors.Join(err, inst.Stop())
		}
	}
	fmt.Fprintf(env.stdout, "Dovecot serves the demo's accounts on %s (in %s)\n", inst.Addr, inst.Dir)
	return inst.Addr, inst.Stop, nil
}

// demoDataDir returns the data directory and how to clean it up: a new
// temporary directory, removed at the end, or dir, which must be empty,
// missing, or a previous demo's (whose store is then cleared).
func demoDataDir(dir string) (string, func() error, error) {
	keep := func() error { return nil }
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mtm-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("temporary data dir: %w", err)
		}
		return tmp, func() error { return os.RemoveAll(tmp) }, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("data dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0):
	case err != nil:
		return "", nil, fmt.Errorf("data dir: %w", err)
	case !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == demoMarker }):
		return "", nil, fmt.Errorf("%w: --data %s is not empty and was not made by mtm demo", errUsage, dir)
	default:
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return "", nil, fmt.Errorf("clearing the previous demo: %w", err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by mtm demo; mtm demo --data may clear it\n"), 0o640); err != nil {
		return "", nil, fmt.Errorf("data dir: %w", err)
	}
	return dir, keep, nil
}

// demoListenAddr checks that addr is free before the history is built,
// and resolves port 0 to a free port, so the printed URLs and base_url
// are right.
func demoListenAddr(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: --listen: %v", errUsage, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--listen %s: %w (choose another with --listen 127.0.0.1:PORT)", addr, err)
	}
	_, port, err := net.SplitHostPort(ln.Addr().String())
	if cerr := ln.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("--listen %s: %w", addr, err)
	}
	return net.JoinHostPort(host, port), nil
}

// writeDemoConfig writes the accounts, their passwords and mtm.toml into
// dir, and returns the config's path.
func writeDemoConfig(dir, listen, zone, imapAddr, smtpAddr string) (string, error) {
	var accounts, passwords strings.Builder
	for _, a := range demo.Accounts() {
		fmt.Fprintln(&accounts, a.Addr)
		fmt.Fprintf(&passwords, "%s:%s\n", a.Addr, a.Password)
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	cfg := map[string]any{
		"data_dir": dir, "timezone": zone, "retention_days": 15, "snapshot_at": "00:00",
		"listen": listen, "base_url": "http://" + net.JoinHostPort(host, port) + "/",
		"imap": map[string]any{"address": imapAddr, "tls": "none",
			"password_file": filepath.Join(dir, "passwords.txt"), "connections_per_account": 2},
		"accounts": map[string]any{"file": filepath.Join(dir, "accounts.txt")},
		"smtp":     map[string]any{"address": smtpAddr, "tls": "none", "from": "Mail Time Machine <mtm@example.com>"},
		"log":      map[string]any{"format": "text", "level": "warn"},
	}
	var b strings.Builder
	b.WriteString("# Written by mtm demo: the IMAP and SMTP servers of this run.\n")
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		return "", fmt.Errorf("encoding the demo config: %w", err)
	}
	path := filepath.Join(dir, "mtm.toml")
	for _, f := range []struct {
		name, text string
	}{{"accounts.txt", accounts.String()}, {"passwords.txt", passwords.String()}, {"mtm.toml", b.String()}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o600); err != nil {
			return "", fmt.Errorf("writing the demo config: %w", err)
		}
	}
	return path, nil
}

// localZone names the local time zone for the config: $TZ, the target of
// /etc/localtime, or UTC.
func localZone(getenv []string) string {
	valid := func(name string) bool {
		if name == "" || name == "Local" || filepath.IsAbs(name) {
			return false
		}
		_, err := time.LoadLocation(name)
		return err == nil
	}
	for _, kv := range getenv {
		if v, ok := strings.CutPrefix(kv, "TZ="); ok && valid(strings.TrimPrefix(v, ":")) {
			return strings.TrimPrefix(v, ":")
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok && valid(name) {
			return name
		}
	}
	return "UTC"
}

func addDemoAdmin(ctx context.Context, cfg *config.Config) error {
	hash, err := admin.Hash(demoAdminPassword, admin.DefaultParams)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, clock.Real{})
	if err != nil {
		return err
	}
	err = st.cat.AddAdmin(ctx, catalog.AdminRow{Email: demoAdmin, PasswordHash: hash})
	return errors.Join(err, st.close())
}

func printDemoBanner(env *environment, base, outbox string, h *demo.History, took time.Duration) {
	user := demo.Accounts()[0]
	w := env.stdout
	fmt.Fprintf(w, "\nReady in %.0fs: %d messages in 3 accounts, snapshots of %s to %s.\n\n",
		took.Seconds(), h.Messages, h.Days[0], h.Days[len(h.Days)-1])
	fmt.Fprintf(w, "  Webmail      %s\n", base)
	fmt.Fprintf(w, "               log in as %s, password %s\n", user.Addr, user.Password)
	fmt.Fprintf(w, "  Admin panel  %sadmin\n", base)
	fmt.Fprintf(w, "               log in as %s, password %s\n", demoAdmin, demoAdminPassword)
	fmt.Fprintf(w, "  Outbox       %s\n", outbox)
	fmt.Fprintf(w, "               the emails mtm sends (restore requested, done, rejected)\n\n")
	fmt.Fprintf(w, "Try it: open the day before %s, when the folder %q was still there;\n", h.DeletedDay, demo.TripFolder)
	fmt.Fprintf(w, "request its restore, confirm it in the admin panel, and watch the outbox.\n")
	fmt.Fprintf(w, "Other accounts: ")
	for i, a := range demo.Accounts()[1:] {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s / %s", a.Addr, a.Password)
	}
	fmt.Fprintf(w, ".\nPress Ctrl-C to stop.\n\n")
}

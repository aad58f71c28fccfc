package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/dovecotctl"
)

// The demo's admin account.
const (
	AdminEmail    = "admin@example.com"
	AdminPassword = "admin-demo-9753"
)

// marker marks a data directory made by mtm demo, which a later mtm demo
// --data DIR may clear and fill again.
const marker = ".mtm-demo"

// ErrNotDemoDir: the data directory asked for holds something the demo did
// not make, which it will not clear.
var ErrNotDemoDir = errors.New("not empty and not made by mtm demo")

// ErrBadListen: the listen address is not host:port.
var ErrBadListen = errors.New("not host:port")

// DataDir returns the data directory and how to clean it up: a new
// temporary directory, removed at the end, or dir, which must be empty,
// missing, or a previous demo's (whose store is then cleared).
func DataDir(dir string) (string, func() error, error) {
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
	case !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == marker }):
		return "", nil, fmt.Errorf("--data %s: %w", dir, ErrNotDemoDir)
	default:
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return "", nil, fmt.Errorf("clearing the previous demo: %w", err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, marker), []byte("made by mtm demo; mtm demo --data may clear it\n"), 0o600); err != nil {
		return "", nil, fmt.Errorf("data dir: %w", err)
	}
	return dir, keep, nil
}

// ListenAddr checks that addr is free before the history is built, and
// resolves port 0 to a free port, so the printed URLs and base_url are
// right.
func ListenAddr(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--listen: %w: %v", ErrBadListen, err)
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

// Loopback tells whether the host:port addr listens on loopback only.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// StartIMAPServer starts the IMAP server of the demo's accounts, with their
// own passwords: the in-memory one, or a private Dovecot in a directory
// under dir (it says where on log). It returns the server's address and
// how to stop it.
func StartIMAPServer(dir string, useDovecot bool, log io.Writer) (string, func() error, error) {
	if !useDovecot {
		srv, err := StartIMAP(Passwords())
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
	for _, a := range Accounts() {
		if err := inst.AddUser(a.Addr, a.Password); err != nil {
			return "", nil, errors.Join(err, inst.Stop())
		}
	}
	fmt.Fprintf(log, "Dovecot serves the demo's accounts on %s (in %s)\n", inst.Addr, inst.Dir)
	return inst.Addr, inst.Stop, nil
}

// WriteConfig writes the accounts, their passwords and mtm.toml into dir,
// and returns the config's path.
func WriteConfig(dir, listen, zone, imapAddr, smtpAddr string) (string, error) {
	var accounts, passwords strings.Builder
	for _, a := range Accounts() {
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
		// The operators' endpoints on a free loopback port: a demo beside
		// a real mtm (or another demo) must not collide with it.
		"ops": map[string]any{"listen": "127.0.0.1:0"},
		// The demo's admins log in with the printed password alone: no
		// authenticator app is needed to look around.
		"admin": map[string]any{"require_second_factor": false},
		// The read-only IMAP server of the days, on a free loopback port
		// without TLS: a mail client on this machine opens the backup.
		"imapd": map[string]any{"listen": "127.0.0.1:0", "allow_plaintext": true},
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

// LocalZone names the local time zone for the config: $TZ (from getenv,
// KEY=VALUE pairs), the target of /etc/localtime, or UTC.
func LocalZone(getenv []string) string {
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

// AdminAdder is what AddAdmin needs of the catalog.
type AdminAdder interface {
	AddAdmin(ctx context.Context, a catalog.AdminRow) error
}

// AddAdmin adds the demo's admin (AdminEmail, AdminPassword), responsible
// for every domain.
func AddAdmin(ctx context.Context, cat AdminAdder) error {
	hash, err := admin.Hash(AdminPassword, admin.DefaultParams)
	if err != nil {
		return err
	}
	return cat.AddAdmin(ctx, catalog.AdminRow{Email: AdminEmail, PasswordHash: hash})
}

// MassDeletionNotifier queues the warning about vanished mail of a past
// day (alert.Notifier).
type MassDeletionNotifier interface {
	MassDeletionOn(ctx context.Context, account, day string) error
}

// Warn queues the warning a night would have sent the main account about
// the day TripFolder was deleted: the demo's history is made before `mtm
// serve` runs, so no night saw it.
func Warn(ctx context.Context, n MassDeletionNotifier, h *History) error {
	if h.DeletedDay == "" {
		return nil
	}
	return n.MassDeletionOn(ctx, Accounts()[0].Addr, h.DeletedDay)
}

// Package configcheck owns `mtm config check`: it loads a configuration
// file with the environment's overrides, validates its values by key, and
// checks what a valid configuration points at on this machine: the data
// directory, the accounts and password files, the TLS certificate and the
// SMTP sender. It returns a summary of what the configuration does and
// every problem, each on its own line and named by its key; it changes
// nothing.
package configcheck

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/pgsql"
	"mtm/internal/store"
	"mtm/internal/web"
)

// onMachine marks the problems found by looking at this machine (files,
// directories, certificates) rather than at the configuration's values.
const onMachine = " [checked on this machine]"

// Report is what a check found.
type Report struct {
	Summary  []string // what the configuration does, a line per part
	Problems []string // every problem, "key: what is wrong"
}

// OK tells whether the check found no problem.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Check checks the configuration file at path, with the overrides of
// getenv (KEY=VALUE pairs), reading certificates' validity on clk.
func Check(ctx context.Context, path string, getenv []string, clk clock.Clock) Report {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return Report{Problems: splitLines(err)}
	}
	problems := splitLines(cfg.CheckIMAPAuth())
	if p := exposedSecrets(path, cfg); p != "" {
		problems = append(problems, p)
	}
	summary, more := machine(ctx, cfg, clk)
	return Report{Summary: summary, Problems: append(problems, more...)}
}

// exposedSecrets says which secrets the file at path holds while every
// local user may read it, or "".
func exposedSecrets(path string, cfg *config.Config) string {
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm()&0o004 == 0 {
		return ""
	}
	var held []string
	for key, v := range map[string]string{"imap.master_password": cfg.IMAP.MasterPassword, "smtp.password": cfg.SMTP.Password,
		"blobs.secret_access_key": cfg.Blobs.SecretAccessKey} {
		if v != "" && !cfg.FromEnv(key) {
			held = append(held, key)
		}
	}
	if len(held) == 0 {
		return ""
	}
	slices.Sort(held)
	return fmt.Sprintf("%s: every local user may read it (mode %v), and it holds %s: chmod 600 it (or 640 with mtm's group), "+
		"or give them in the environment (MTM_IMAP_MASTER_PASSWORD, ...)", path, info.Mode().Perm(), strings.Join(held, ", ")) + onMachine
}

// splitLines returns the lines of a joined error, or nothing for nil.
func splitLines(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// machine checks what a valid configuration points at: the data
// directory and its catalog's schema, the accounts and password files, the
// TLS files and the SMTP sender. It returns the summary lines and the
// problems.
func machine(ctx context.Context, cfg *config.Config, clk clock.Clock) (summary, problems []string) {
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...)+onMachine)
	}
	cat := "not checked"
	if err := checkDataDir(ctx, cfg.DataDir); err != nil {
		bad("data_dir", "%v", err)
	} else {
		var p string
		if cat, p = catalogSummary(ctx, cfg); p != "" {
			bad("data_dir", "%s", p)
		}
	}
	summary = append(summary, fmt.Sprintf("data_dir  %s", cfg.DataDir), "catalog   "+cat,
		fmt.Sprintf("schedule  daily at %s %s, %d days kept, %d accounts at a time",
			cfg.SnapshotAt, cfg.Timezone, cfg.RetentionDays, cfg.ConcurrentAccounts))
	accounts, err := config.ReadAccounts(cfg.Accounts.File)
	if err != nil {
		bad("accounts.file", "%v", err)
	}
	summary = append(summary, fmt.Sprintf("accounts  %d in %s", len(accounts), cfg.Accounts.File))
	login := "master user " + cfg.IMAP.MasterUser
	if cfg.IMAP.MasterUser == "" {
		login = "own passwords from " + cfg.IMAP.PasswordFile
		if p := checkPasswords(cfg.IMAP.PasswordFile, accounts); p != "" {
			bad("imap.password_file", "%s", p)
		}
	}
	summary = append(summary, fmt.Sprintf("imap      %s (%s), %s", cfg.IMAP.Address, cfg.IMAP.TLS, login))
	smtp := "off (no notification emails)"
	if cfg.SMTP.Address != "" {
		smtp = fmt.Sprintf("%s (%s) from %s", cfg.SMTP.Address, cfg.SMTP.TLS, cfg.SMTP.From)
		if cfg.SMTP.From == "" {
			problems = append(problems, "smtp.from: is empty but smtp.address is set; notification emails need a sender")
		}
	}
	summary = append(summary, "smtp      "+smtp)
	web, p := webSummary(cfg, clk)
	if p != "" {
		bad("http.tls_cert_file", "%s", p)
	}
	summary = append(summary, "web       "+web, fmt.Sprintf("log       %s, %s", cfg.Log.Format, cfg.Log.Level))
	return summary, problems
}

// checkDataDir checks that dir is a writable directory, or that its
// nearest existing parent is, so that mtm can create it.
func checkDataDir(ctx context.Context, dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case err == nil:
		return web.DirWritable("data_dir", dir).Run(ctx)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	for {
		if _, err := os.Stat(parent); err == nil || filepath.Dir(parent) == parent {
			break
		}
		parent = filepath.Dir(parent)
	}
	if err := web.DirWritable("data_dir", parent).Run(ctx); err != nil {
		return fmt.Errorf("%s does not exist and cannot be created: %w", dir, err)
	}
	return nil
}

// checkPasswords reads the password file and says what is wrong with it
// ("" when nothing is): unreadable, open to others, or missing accounts.
func checkPasswords(path string, accounts []string) string {
	pw, err := config.ReadPasswords(path)
	if err != nil {
		return err.Error()
	}
	var missing []string
	for _, a := range accounts {
		if _, ok := pw[a]; !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%s has no password for %d accounts of accounts.file (first: %s)", path, len(missing), missing[0])
	}
	return ""
}

// webSummary describes how the web UI is served and checks its
// certificate: it must load, and not be expired.
func webSummary(cfg *config.Config, clk clock.Clock) (summary, problem string) {
	summary = cfg.Listen + ", plain HTTP"
	if cfg.HTTP.TLS() {
		tc, err := web.TLSConfig(cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile, web.TLSOptions{Clock: clk})
		if err != nil {
			return cfg.Listen + ", HTTPS", err.Error()
		}
		cert, err := tc.GetCertificate(nil)
		if err != nil {
			return cfg.Listen + ", HTTPS", err.Error()
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return cfg.Listen + ", HTTPS", fmt.Sprintf("%s: %v", cfg.HTTP.TLSCertFile, err)
		}
		names := append(append([]string(nil), leaf.DNSNames...), leaf.Subject.CommonName)
		summary = fmt.Sprintf("%s, HTTPS (certificate for %s valid until %s)", cfg.Listen,
			names[0], leaf.NotAfter.UTC().Format(time.DateOnly))
		if now := clk.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
			problem = fmt.Sprintf("%s is not valid now (valid from %s to %s)", cfg.HTTP.TLSCertFile,
				leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	if len(cfg.HTTP.Proxies) > 0 {
		var ps []string
		for _, p := range cfg.HTTP.Proxies {
			ps = append(ps, p.String())
		}
		summary += ", forwarded headers trusted from " + strings.Join(ps, " ")
	}
	if cfg.BaseURL != "" {
		summary += ", public URL " + cfg.BaseURL
	}
	return summary, problem
}

// catalogSummary says where the catalog's schema stands: none yet, up to
// date, or with migrations pending (and who applies them); a catalog newer
// than this mtm is a problem.
func catalogSummary(ctx context.Context, cfg *config.Config) (summary, problem string) {
	st, err := store.InspectCatalog(ctx, cfg.DataDir, cfg.Catalog.URL)
	switch {
	case err != nil && cfg.Catalog.URL != "":
		return "unreachable", fmt.Sprintf("catalog.url: %v", err)
	case err != nil:
		return "unreadable", fmt.Sprintf("the catalog: %v", err)
	case !st.Exists && cfg.Catalog.URL != "":
		return pgsql.Redact(cfg.Catalog.URL) + ", reachable, no schema yet (mtm migrate creates it)", ""
	case !st.Exists:
		return "none yet (created with schema version " + strconv.Itoa(st.Latest) + " at the first start)", ""
	case st.Version > st.Latest:
		return fmt.Sprintf("schema version %d", st.Version),
			fmt.Sprintf("the catalog's schema version %d is newer than this mtm's %d: upgrade mtm", st.Version, st.Latest)
	case st.Pending() == 0:
		return where(cfg) + fmt.Sprintf("schema version %d (up to date)", st.Version), ""
	}
	who := "mtm migrate must apply them (auto_migrate = false)"
	if cfg.Catalog.AutoMigrate {
		who = "the first command applies them (auto_migrate = true)"
	}
	return where(cfg) + fmt.Sprintf("schema version %d, %d migrations pending: %s", st.Version, st.Pending(), who), ""
}

// where names a PostgreSQL catalog, without its password.
func where(cfg *config.Config) string {
	if cfg.Catalog.URL == "" {
		return ""
	}
	return pgsql.Redact(cfg.Catalog.URL) + ", "
}

// Package config owns mtm's configuration: the TOML file (./mtm.toml unless
// another is named), the MTM_<SECTION>_<KEY> environment overrides, the
// defaults, and validation. It also reads the two plain-text files the
// configuration points at: the accounts list (ReadAccounts) and the
// per-account password file (ReadPasswords).
//
// A Config is a value passed to whoever needs it; there are no globals.
//
// Precedence, lowest first: Default, the file, the environment. Every key of
// the file has one environment variable: MTM_ followed by the upper-cased key,
// with the section for keys inside a table (data_dir is MTM_DATA_DIR,
// imap.master_password is MTM_IMAP_MASTER_PASSWORD). Durations are Go
// durations ("60s"), booleans are true or false, lists are comma separated
// ("127.0.0.1,10.0.0.0/8").
//
// Unknown keys in the file and unknown MTM_* variables are errors, so a typo
// never silently falls back to a default. Load reports every problem it finds,
// not only the first.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultPath is the configuration file used when none is named. A
// missing file is an error, this one too: a command run by mistake where
// there is none must not make an empty catalog in the default data_dir.
// (A configuration all in the environment names an empty file:
// --config /dev/null.)
const DefaultPath = "./mtm.toml"

// ErrNoFile: the configuration file does not exist.
var ErrNoFile = errors.New("no configuration file")

// TLSMode says how a client secures its connection.
type TLSMode string

// The TLS modes of imap.tls and smtp.tls.
const (
	TLSNone     TLSMode = "none"     // plain text
	TLSStartTLS TLSMode = "starttls" // plain text upgraded with STARTTLS
	TLSImplicit TLSMode = "tls"      // TLS from the first byte
)

// Config is mtm's whole configuration. Build it with Load (or Default and
// Validate); the fields without a toml key are derived by Validate.
type Config struct {
	// DataDir holds the catalog and the blobs. A relative path in the file
	// is relative to the file's directory.
	DataDir string `toml:"data_dir"`
	// Timezone names the zone that defines a snapshot's day and the
	// snapshot time, for time.LoadLocation.
	Timezone string `toml:"timezone"`
	// Location is Timezone loaded, set by Validate.
	Location *time.Location `toml:"-"`
	// RetentionDays is how many days of snapshots are kept.
	RetentionDays int `toml:"retention_days"`
	// SnapshotAt is the daily snapshot time, "HH:MM" in Location.
	SnapshotAt string `toml:"snapshot_at"`
	// SnapshotHour and SnapshotMinute are SnapshotAt parsed, set by Validate.
	SnapshotHour   int `toml:"-"`
	SnapshotMinute int `toml:"-"`
	// ConcurrentAccounts is how many accounts are snapshotted in parallel.
	ConcurrentAccounts int `toml:"concurrent_accounts"`
	// Listen is the host:port of the web UI; the host may be empty.
	Listen string `toml:"listen"`
	// BaseURL is the web UI's public URL (absolute http or https), or "".
	BaseURL string `toml:"base_url"`
	// Language is the language of emails to people who chose none, and of
	// the pages of a browser that asks for no language mtm speaks: "en" or
	// "it".
	Language string `toml:"language"`

	Catalog  Catalog  `toml:"catalog"`
	Blobs    Blobs    `toml:"blobs"`
	IMAP     IMAP     `toml:"imap"`
	Accounts Accounts `toml:"accounts"`
	SMTP     SMTP     `toml:"smtp"`
	HTTP     HTTP     `toml:"http"`
	Log      Log      `toml:"log"`
	Cluster  Cluster  `toml:"cluster"`
	Alerts   Alerts   `toml:"alerts"`
	Ops      Ops      `toml:"ops"`
	Audit    Audit    `toml:"audit"`
	Admin    Admin    `toml:"admin"`
	IMAPD    IMAPD    `toml:"imapd"`

	// fromEnv maps the keys set from the environment to their variable,
	// so errors about them name the variable too.
	fromEnv map[string]string
}

// IMAP is the [imap] section: the server that is backed up.
type IMAP struct {
	Address            string  `toml:"address"` // host:port
	TLS                TLSMode `toml:"tls"`
	InsecureSkipVerify bool    `toml:"insecure_skip_verify"`
	// MasterUser logs in to every account as "addr<MasterSeparator>MasterUser"
	// with MasterPassword. When empty, PasswordFile gives each account's
	// own password (see ReadPasswords).
	MasterUser      string `toml:"master_user"`
	MasterPassword  string `toml:"master_password"`
	MasterSeparator string `toml:"master_separator"`
	// PasswordFile is resolved like DataDir.
	PasswordFile          string        `toml:"password_file"`
	ConnectionsPerAccount int           `toml:"connections_per_account"`
	Timeout               time.Duration `toml:"timeout"` // network timeout
}

// Catalog is the [catalog] section.
type Catalog struct {
	// URL is empty for the embedded SQLite catalog in DataDir, or a
	// PostgreSQL URL ("postgres://user:pw@host:5432/mtm?sslmode=verify-full").
	// Its password is never printed.
	URL string `toml:"url"`
	// MaxConnections bounds the connections to PostgreSQL.
	MaxConnections int `toml:"max_connections"`
	// AutoMigrate applies the catalog's pending migrations when a command
	// opens it; when false only `mtm migrate` does, and the others refuse
	// a catalog that needs them. Unless set, it is true for SQLite and
	// false for PostgreSQL.
	AutoMigrate bool `toml:"auto_migrate"`

	autoMigrateSet bool // the file or the environment set AutoMigrate
}

// Blobs is the [blobs] section: where the message bytes are kept.
type Blobs struct {
	// URL is empty for the local store in DataDir/blobs, or
	// "s3://BUCKET/PREFIX" for S3-compatible object storage.
	URL string `toml:"url"`
	// Endpoint is the S3 server's URL ("https://s3.example.com"); empty:
	// AWS.
	Endpoint string `toml:"endpoint"`
	Region   string `toml:"region"`
	// PathStyle addresses buckets in the path, as most self-hosted servers
	// want.
	PathStyle bool `toml:"path_style"`
	// AccessKeyID and SecretAccessKey are the S3 credentials; empty: the
	// standard AWS environment variables and shared configuration. The
	// secret is never printed.
	AccessKeyID     string `toml:"access_key_id"`
	SecretAccessKey string `toml:"secret_access_key"`
	// PackSizeMiB is the size at which a pack object is sealed.
	PackSizeMiB int `toml:"pack_size_mib"`
	// UploadConcurrency bounds the uploads in flight.
	UploadConcurrency int `toml:"upload_concurrency"`
}

// Accounts is the [accounts] section.
type Accounts struct {
	// File lists the accounts to back up (see ReadAccounts); it is re-read
	// at every run and resolved like DataDir.
	File string `toml:"file"`
}

// SMTP is the [smtp] section: the server that sends notifications. It is
// unused while Address is empty.
type SMTP struct {
	Address  string  `toml:"address"` // host:port
	TLS      TLSMode `toml:"tls"`
	Username string  `toml:"username"`
	Password string  `toml:"password"`
	From     string  `toml:"from"` // RFC 5322 address
}

// HTTP is the [http] section: how the web UI is reached.
type HTTP struct {
	// TLSCertFile and TLSKeyFile, both set or both empty, make the web UI
	// serve HTTPS itself with this PEM certificate chain and key. They are
	// resolved like DataDir.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// TrustedProxies lists the reverse proxies (IP addresses or CIDR
	// prefixes) whose X-Forwarded-For and X-Forwarded-Proto headers are
	// believed. Empty: no forwarded header is believed.
	TrustedProxies []string `toml:"trusted_proxies"`
	// Proxies is TrustedProxies parsed, set by Validate; nil when empty.
	Proxies []netip.Prefix `toml:"-"`
	// ShutdownTimeout bounds a stop: requests still running after it are
	// cut, and workers not stopped are left (a snapshot's state is
	// committed as it goes; the next start resumes).
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
	// ReadTimeout bounds reading a request, its body included: a client
	// that sends slowly is cut off after it.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// MaxConnectionsPerClient is the most connections one client address
	// may hold open (trusted proxies are not counted); 0: no limit.
	MaxConnectionsPerClient int `toml:"max_connections_per_client"`
}

// Admin is the [admin] section: the admin panel's logins.
type Admin struct {
	// RequireSecondFactor makes every admin set up a TOTP second factor at
	// their first login and give a code at every login (docs/design.md,
	// "Admins' second factor"). Turn it off only when the panel sits
	// behind a proxy that enforces one itself.
	RequireSecondFactor bool `toml:"require_second_factor"`
}

// Audit is the [audit] section.
type Audit struct {
	// RetentionDays is how long audit events are kept: older ones are
	// deleted by the night's prune (and mtm prune); 0 keeps them all.
	RetentionDays int `toml:"retention_days"`
}

// IMAPD is the [imapd] section: the read-only IMAP server of the kept
// days (docs/design.md, "Read-only IMAP access to the kept days"), run by
// `mtm serve` on the nodes with the web role (or the imap role).
type IMAPD struct {
	// Listen is its host:port, such as ":993"; empty: no IMAP server.
	Listen string `toml:"listen"`
	// TLSCertFile and TLSKeyFile, both set or both empty: with port 993
	// every connection is TLS; on another port clients use STARTTLS.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// AllowPlaintext lets clients log in without TLS: for tests and a
	// loopback-only second webmail, never for users across a network.
	AllowPlaintext bool `toml:"allow_plaintext"`
	// MaxConnections bounds this node's IMAP connections, and
	// MaxConnectionsPerUser those of one account.
	MaxConnections        int `toml:"max_connections"`
	MaxConnectionsPerUser int `toml:"max_connections_per_user"`
	// IdleTimeout ends a connection that sends nothing for this long
	// (IDLE included: clients renew it within 29 minutes).
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// TrustedProxies lists the load balancers (IP addresses or CIDR
	// prefixes) in front of the server that send the PROXY protocol's
	// header: connections from them must start with it, and its client
	// address is throttled and logged. Empty: no header is accepted.
	TrustedProxies []string `toml:"trusted_proxies"`
	// Proxies is TrustedProxies parsed, set by Validate; nil when empty.
	Proxies []netip.Prefix `toml:"-"`
}

// On tells whether the IMAP server runs.
func (i IMAPD) On() bool { return i.Listen != "" }

// ImplicitTLS tells whether connections start with TLS (a certificate and
// port 993).
func (i IMAPD) ImplicitTLS() bool {
	_, port, _ := net.SplitHostPort(i.Listen)
	return i.TLSCertFile != "" && port == "993"
}

// Ops is the [ops] section: the operators' own listener, apart from the
// public one.
type Ops struct {
	// Listen is the host:port of /metrics, /readyz, /healthz and
	// /debug/pprof/: loopback by default, an internal interface for a
	// Prometheus or a load balancer elsewhere. The public listener serves
	// only /healthz of them.
	Listen string `toml:"listen"`
}

// TLS tells whether the web UI serves HTTPS itself.
func (h HTTP) TLS() bool { return h.TLSCertFile != "" }

// Cluster is the [cluster] section: what this node runs. It matters only
// with the catalog on PostgreSQL, where the work is jobs that any number of
// nodes share (docs/design.md, "Jobs and nodes"); the embedded catalog runs
// everything in its one process.
type Cluster struct {
	// Roles is what this node runs: "web" (the webmail, the admin panel
	// and the API), "worker" (jobs) and "scheduler" (the night's jobs and
	// the alerts). Default: all three.
	Roles []string `toml:"roles"`
	// WorkerConcurrency is how many jobs this node works at a time.
	WorkerConcurrency int `toml:"worker_concurrency"`
	// NightWindow is how long after snapshot_at the night's work should be
	// done; the operators are told when it is projected to miss it.
	NightWindow time.Duration `toml:"night_window"`
	// IMAPConnections caps the IMAP connections the whole cluster holds to
	// the mail server at once, whatever the number of nodes; 0: no cap
	// beyond each node's own.
	IMAPConnections int `toml:"imap_connections"`
	// Operators are the addresses told when the night is projected to miss
	// its window or a job has failed for good; empty: only logged.
	Operators []string `toml:"operators"`
}

// Alerts is the [alerts] section: the warning a user gets when mail
// vanishes from their mailbox between two nightly snapshots
// (docs/design.md, "Changes between days").
type Alerts struct {
	// MassDeletion turns the warning on for every account (a user can
	// still turn it off for themselves in the webmail).
	MassDeletion bool `toml:"mass_deletion"`
	// MassDeletionMessages warns when at least this many messages vanished
	// in one night; 0: this rule is off.
	MassDeletionMessages int `toml:"mass_deletion_messages"`
	// MassDeletionPercent warns when at least this percentage of the
	// previous snapshot's messages vanished (and at least 10 messages);
	// 0: this rule is off. A deleted folder that held messages always
	// warns.
	MassDeletionPercent int `toml:"mass_deletion_percent"`
	// MassDeletionAdmins sends the warning to the admins of the account's
	// domain too.
	MassDeletionAdmins bool `toml:"mass_deletion_admins"`
}

// Role names of [cluster] roles.
const (
	RoleWeb       = "web"
	RoleWorker    = "worker"
	RoleScheduler = "scheduler"
)

// Has tells whether the node runs role.
func (c Cluster) Has(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Log is the [log] section.
type Log struct {
	Format string `toml:"format"` // "text" or "json"
	Level  string `toml:"level"`  // "debug", "info", "warn" or "error"
}

// SlogLevel returns Level as a slog.Level; an invalid level (which Validate
// rejects) reads as info.
func (l Log) SlogLevel() slog.Level {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return slog.LevelInfo
	}
	return lv
}

// Default returns the configuration used for every key that neither the file
// nor the environment sets. It passes Validate but not CheckIMAPAuth.
func Default() *Config {
	return &Config{
		DataDir:            "/var/lib/mtm",
		Timezone:           "UTC",
		Location:           time.UTC,
		RetentionDays:      15,
		SnapshotAt:         "00:00",
		ConcurrentAccounts: 4,
		Listen:             "127.0.0.1:8080",
		Language:           "en",
		Catalog:            Catalog{AutoMigrate: true, MaxConnections: 16},
		Blobs:              Blobs{Region: "us-east-1", PackSizeMiB: 32, UploadConcurrency: 4},
		IMAP: IMAP{
			Address:               "127.0.0.1:143",
			TLS:                   TLSNone,
			MasterSeparator:       "*",
			ConnectionsPerAccount: 2,
			Timeout:               60 * time.Second,
		},
		Accounts: Accounts{File: "/etc/mtm/accounts.txt"},
		SMTP:     SMTP{TLS: TLSNone},
		HTTP:     HTTP{ShutdownTimeout: 20 * time.Second, ReadTimeout: 30 * time.Second, MaxConnectionsPerClient: 32},
		Log:      Log{Format: "text", Level: "info"},
		Cluster: Cluster{Roles: []string{RoleWeb, RoleWorker, RoleScheduler}, WorkerConcurrency: 8,
			NightWindow: 6 * time.Hour},
		Alerts: Alerts{MassDeletion: true, MassDeletionMessages: 200, MassDeletionPercent: 20},
		Ops:    Ops{Listen: "127.0.0.1:9464"},
		Audit:  Audit{RetentionDays: 400},
		Admin:  Admin{RequireSecondFactor: true},
		IMAPD:  IMAPD{MaxConnections: 1000, MaxConnectionsPerUser: 10, IdleTimeout: 30 * time.Minute},
	}
}

// Load reads the configuration file at path ("" means DefaultPath), applies
// the MTM_* variables of env (in os.Environ form) and validates the result.
// A missing file is an error (ErrNoFile). The error joins
// every problem found.
func Load(path string, env []string) (*Config, error) {
	if path == "" {
		path = DefaultPath
	}
	c := Default()
	var errs []error
	if err := c.loadFile(path); err != nil {
		var fileErrs fileErrors
		if !errors.As(err, &fileErrs) {
			return nil, err // unreadable or not TOML: nothing more to check
		}
		errs = append(errs, err)
	}
	errs = append(errs, c.applyEnv(env))
	if _, ok := c.fromEnv["catalog.auto_migrate"]; ok {
		c.Catalog.autoMigrateSet = true
	}
	if c.Catalog.URL != "" && !c.Catalog.autoMigrateSet {
		c.Catalog.AutoMigrate = false // a shared database migrates by `mtm migrate`
	}
	errs = append(errs, c.Validate())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// fileErrors are problems with individual keys of a file that decoded.
type fileErrors []error

func (e fileErrors) Error() string   { return errors.Join(e...).Error() }
func (e fileErrors) Unwrap() []error { return e }

// loadFile decodes the file at path into c and resolves its relative paths.
func (c *Config) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %s: give one with --config FILE (mtm.example.toml describes every key; "+
			"--config /dev/null takes everything from the environment): %w", ErrNoFile, path, fs.ErrNotExist)
	}
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	c.Catalog.autoMigrateSet = md.IsDefined("catalog", "auto_migrate")
	var errs fileErrors
	known := knownKeys()
	for _, k := range md.Keys() {
		// Report an unknown table once, not each of its keys.
		if known[k.String()] || (len(k) > 1 && !known[k[:len(k)-1].String()]) {
			continue
		}
		errs = append(errs, fmt.Errorf("config file %s: unknown key %q", path, k.String()))
	}
	dir := filepath.Dir(path)
	for _, pk := range c.pathKeys() {
		if md.IsDefined(pk.key...) && *pk.p != "" && !filepath.IsAbs(*pk.p) {
			*pk.p = filepath.Join(dir, *pk.p)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// pathKeys returns the keys that name files or directories, each with the
// field it sets.
func (c *Config) pathKeys() []pathKey {
	return []pathKey{
		{[]string{"data_dir"}, &c.DataDir},
		{[]string{"imap", "password_file"}, &c.IMAP.PasswordFile},
		{[]string{"accounts", "file"}, &c.Accounts.File},
		{[]string{"http", "tls_cert_file"}, &c.HTTP.TLSCertFile},
		{[]string{"http", "tls_key_file"}, &c.HTTP.TLSKeyFile},
		{[]string{"imapd", "tls_cert_file"}, &c.IMAPD.TLSCertFile},
		{[]string{"imapd", "tls_key_file"}, &c.IMAPD.TLSKeyFile},
	}
}

type pathKey struct {
	key []string
	p   *string
}

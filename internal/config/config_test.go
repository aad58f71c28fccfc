package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // umask must not change the test
		t.Fatal(err)
	}
	return p
}

// checkErr fails unless err is nil when no substrings are wanted, or err's
// text contains every one of want.
func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if err := c.CheckIMAPAuth(); err == nil {
		t.Error("Default().CheckIMAPAuth() = nil, want an error: no credentials are configured")
	}
	if c.Location != time.UTC || c.IMAP.Timeout != time.Minute || c.IMAP.MasterSeparator != "*" {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestLoad(t *testing.T) {
	const full = `
data_dir = "/srv/mtm"
timezone = "Europe/Rome"
retention_days = 30
snapshot_at = "02:45"
concurrent_accounts = 8
listen = ":9090"
base_url = "https://mtm.example.org/"
[imap]
address = "mail.example.org:993"
tls = "tls"
insecure_skip_verify = true
master_user = "backup"
master_password = "secret"
master_separator = "%"
connections_per_account = 3
timeout = "90s"
[accounts]
file = "/etc/mtm/list"
[smtp]
address = "smtp.example.org:587"
tls = "starttls"
username = "mtm"
password = "pw"
from = "MTM <mtm@example.org>"
[log]
format = "json"
level = "debug"
`
	tests := []struct {
		name    string
		file    string // written as mtm.toml unless noFile
		noFile  bool
		env     []string
		check   func(t *testing.T, c *Config)
		wantErr []string
	}{
		{
			name: "full file",
			file: full,
			check: func(t *testing.T, c *Config) {
				want := &Config{
					DataDir: "/srv/mtm", Timezone: "Europe/Rome", RetentionDays: 30,
					SnapshotAt: "02:45", SnapshotHour: 2, SnapshotMinute: 45,
					ConcurrentAccounts: 8, Listen: ":9090", BaseURL: "https://mtm.example.org/", Language: "en",
					Catalog: Catalog{AutoMigrate: true, MaxConnections: 16},                    // the defaults: the file has no [catalog]
					Blobs:   Blobs{Region: "us-east-1", PackSizeMiB: 32, UploadConcurrency: 4}, // nor [blobs]
					IMAP: IMAP{
						Address: "mail.example.org:993", TLS: TLSImplicit, InsecureSkipVerify: true,
						MasterUser: "backup", MasterPassword: "secret", MasterSeparator: "%",
						ConnectionsPerAccount: 3, Timeout: 90 * time.Second,
					},
					Accounts: Accounts{File: "/etc/mtm/list"},
					SMTP: SMTP{
						Address: "smtp.example.org:587", TLS: TLSStartTLS,
						Username: "mtm", Password: "pw", From: "MTM <mtm@example.org>",
					},
					HTTP: HTTP{ShutdownTimeout: 20 * time.Second, ReadTimeout: 30 * time.Second, MaxConnectionsPerClient: 32},
					Ops:  Ops{Listen: "127.0.0.1:9464"}, Audit: Audit{RetentionDays: 400},
					Admin: Admin{RequireSecondFactor: true},
					IMAPD: IMAPD{MaxConnections: 1000, MaxConnectionsPerUser: 10, IdleTimeout: 30 * time.Minute},
					Log:   Log{Format: "json", Level: "debug"},
					Cluster: Cluster{Roles: []string{RoleWeb, RoleWorker, RoleScheduler}, WorkerConcurrency: 8,
						NightWindow: 6 * time.Hour}, // nor [cluster]
					Alerts: Alerts{MassDeletion: true, MassDeletionMessages: 200, MassDeletionPercent: 20}, // nor [alerts]
				}
				if c.Location == nil || c.Location.String() != "Europe/Rome" {
					t.Errorf("Location = %v, want Europe/Rome", c.Location)
				}
				want.Location = c.Location
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "empty file gives defaults",
			check: func(t *testing.T, c *Config) {
				if !reflect.DeepEqual(c, Default()) {
					t.Errorf("got %+v, want the defaults", c)
				}
			},
		},
		{
			// A command run where there is no configuration must not make
			// an empty catalog in the default data_dir.
			name:    "missing default file is an error",
			noFile:  true,
			env:     []string{"MTM_DATA_DIR=/data", "PATH=/bin"},
			wantErr: []string{"no configuration file ./mtm.toml: give one with --config FILE"},
		},
		{
			name: "an empty file gives defaults and env",
			file: "",
			env:  []string{"MTM_DATA_DIR=/data", "PATH=/bin"},
			check: func(t *testing.T, c *Config) {
				if c.DataDir != "/data" || c.RetentionDays != 15 {
					t.Errorf("DataDir = %q, RetentionDays = %d", c.DataDir, c.RetentionDays)
				}
			},
		},
		{
			name: "env overrides every type",
			file: full,
			env: []string{
				"MTM_DATA_DIR=/env/data",                // string, top level
				"MTM_IMAP_ADDRESS=imap.example.net:143", // string in a section
				"MTM_IMAP_MASTER_PASSWORD=from:env",     // secret
				"MTM_IMAP_TLS=starttls",                 // string type
				"MTM_IMAP_INSECURE_SKIP_VERIFY=false",   // bool
				"MTM_RETENTION_DAYS=7",                  // int
				"MTM_IMAP_TIMEOUT=2m30s",                // duration
				"MTM_SMTP_ADDRESS=",                     // set to empty
				"MTM_LOG_LEVEL=warn",
				"MTM_LOG_LEVEL=error", // the last one wins
			},
			check: func(t *testing.T, c *Config) {
				got := []any{c.DataDir, c.IMAP.Address, c.IMAP.MasterPassword, c.IMAP.TLS,
					c.IMAP.InsecureSkipVerify, c.RetentionDays, c.IMAP.Timeout, c.SMTP.Address, c.Log.Level}
				want := []any{"/env/data", "imap.example.net:143", "from:env", TLSStartTLS,
					false, 7, 150 * time.Second, "", "error"}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			},
		},
		{
			name:    "bad env values",
			env:     []string{"MTM_RETENTION_DAYS=many", "MTM_IMAP_INSECURE_SKIP_VERIFY=maybe", "MTM_IMAP_TIMEOUT=soon"},
			wantErr: []string{`MTM_RETENTION_DAYS: "many" is not an integer`, `MTM_IMAP_INSECURE_SKIP_VERIFY: "maybe" is not a boolean`, `MTM_IMAP_TIMEOUT: "soon" is not a duration`},
		},
		{
			name:    "env value checked and named",
			env:     []string{"MTM_IMAP_TLS=foo", "MTM_IMAP_CONNECTIONS_PER_ACCOUNT=0"},
			wantErr: []string{`imap.tls (MTM_IMAP_TLS): "foo" is not one of none, starttls, tls`, "imap.connections_per_account (MTM_IMAP_CONNECTIONS_PER_ACCOUNT): 0 is not between 1 and 16"},
		},
		{
			name:    "unknown env variables",
			env:     []string{"MTM_IMAP=3", "MTM_NOPE=1", "MTM_IMAP_NOPE=2", "MTMX=ignored", "HOME=/root"},
			wantErr: []string{"unknown environment variable MTM_NOPE", "unknown environment variable MTM_IMAP_NOPE", "unknown environment variable MTM_IMAP\n"},
		},
		{
			name:    "unknown keys in file",
			file:    "bogus = 1\nDATA_DIR = \"/x\"\n[imap]\naddres = \"x:1\"\n[imap.deeper]\nnosuch = 3\n[nosuch]\nkey = 2\n",
			wantErr: []string{`unknown key "bogus"`, `unknown key "DATA_DIR"`, `unknown key "imap.addres"`, `unknown key "nosuch"`, `unknown key "imap.deeper"`},
		},
		{
			name:    "wrong TOML type",
			file:    "retention_days = \"many\"\n",
			wantErr: []string{"retention_days"},
		},
		{
			name:    "bad duration in file",
			file:    "[imap]\ntimeout = \"soon\"\n",
			wantErr: []string{"timeout", "soon"},
		},
		{
			name:    "duration as integer is nanoseconds, too short",
			file:    "[imap]\ntimeout = 60\n",
			wantErr: []string{"imap.timeout: 60ns is shorter than 1s"},
		},
		{
			name:    "not TOML",
			file:    "data_dir = \n",
			wantErr: []string{"mtm.toml"},
		},
		{
			name: "all errors together",
			file: "bogus = true\nretention_days = 0\n[imap]\ntls = \"foo\"\n",
			env:  []string{"MTM_LOG_FORMAT=xml", "MTM_WHAT=1"},
			wantErr: []string{
				`unknown key "bogus"`, "retention_days: 0 is not between 1 and 3650",
				`imap.tls: "foo" is not one of none, starttls, tls`,
				`log.format (MTM_LOG_FORMAT): "xml" is not one of text, json`,
				"unknown environment variable MTM_WHAT",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir()) // Load("") reads ./mtm.toml
			if !tt.noFile {
				writeFile(t, ".", "mtm.toml", tt.file, 0o644)
			}
			c, err := Load("", tt.env)
			checkErr(t, err, tt.wantErr)
			if err != nil && (strings.Contains(err.Error(), "nosuch.key") || strings.Contains(err.Error(), "deeper.nosuch")) {
				t.Errorf("keys of an unknown table are reported one by one: %v", err)
			}
			if err == nil && tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestLoadMissingExplicitFile(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "mtm.toml"), filepath.Join(dir, "nope.toml")} {
		t.Run(filepath.Base(p), func(t *testing.T) {
			_, err := Load(p, nil)
			if !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Load(%q) = %v, want a not-exist error", p, err)
			}
		})
	}
}

func TestLoadRelativePaths(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file string
		env        []string
		want       [3]string // data_dir, imap.password_file, accounts.file
	}{
		{
			name: "relative to the file",
			file: "data_dir = \"data\"\n[imap]\npassword_file = \"../secret/pw\"\n[accounts]\nfile = \"accounts.txt\"\n",
			want: [3]string{filepath.Join(dir, "conf", "data"), filepath.Join(dir, "secret", "pw"), filepath.Join(dir, "conf", "accounts.txt")},
		},
		{
			name: "absolute unchanged",
			file: "data_dir = \"/d\"\n[accounts]\nfile = \"/a\"\n",
			want: [3]string{"/d", "", "/a"},
		},
		{
			name: "environment relative to the working directory",
			file: "data_dir = \"data\"\n",
			env:  []string{"MTM_DATA_DIR=envdata", "MTM_ACCOUNTS_FILE=list.txt"},
			want: [3]string{"envdata", "", "list.txt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "conf/mtm.toml", tt.file, 0o644)
			c, err := Load(p, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			got := [3]string{c.DataDir, c.IMAP.PasswordFile, c.Accounts.File}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEnvNames checks that every key has its own variable of a type the
// environment can set.
func TestEnvNames(t *testing.T) {
	samples := map[reflect.Kind]string{reflect.String: "x", reflect.Bool: "true", reflect.Int: "1", reflect.Int64: "1s",
		reflect.Slice: "a,b"}
	seen := map[string]string{}
	for _, f := range Default().fields() {
		t.Run(f.env, func(t *testing.T) {
			if other, dup := seen[f.env]; dup {
				t.Fatalf("%s and %s share %s", other, f.key, f.env)
			}
			seen[f.env] = f.key
			if err := setValue(f.v, samples[f.v.Kind()]); err != nil {
				t.Errorf("%s: %v", f.key, err)
			}
		})
	}
	if len(seen) != 62 {
		t.Errorf("%d keys, want 62; update this test and mtm.example.toml together", len(seen))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(c *Config)
		wantErr []string
	}{
		{"defaults", func(c *Config) {}, nil},
		{"no roles", func(c *Config) { c.Cluster.Roles = nil }, []string{"cluster.roles: is empty"}},
		{"unknown role", func(c *Config) { c.Cluster.Roles = []string{"web", "cook"} }, []string{`cluster.roles: "cook" is not a role`}},
		{"role twice", func(c *Config) { c.Cluster.Roles = []string{"web", "web"} }, []string{`cluster.roles: "web" is not a role, or is given twice`}},
		{"worker only", func(c *Config) { c.Cluster.Roles = []string{"worker"} }, nil},
		{"worker_concurrency 0", func(c *Config) { c.Cluster.WorkerConcurrency = 0 }, []string{"cluster.worker_concurrency: 0 is not between 1 and 1024"}},
		{"mass_deletion_percent 101", func(c *Config) { c.Alerts.MassDeletionPercent = 101 }, []string{"alerts.mass_deletion_percent: 101 is not between 0 and 100"}},
		{"night_window 30s", func(c *Config) { c.Cluster.NightWindow = 30 * time.Second }, []string{"cluster.night_window: 30s is not between 1m and 24h"}},
		{"bad operator", func(c *Config) { c.Cluster.Operators = []string{"ops"} }, []string{`cluster.operators: "ops" is not an email address`}},
		{"imapd without TLS", func(c *Config) { c.IMAPD.Listen = ":1143" }, []string{"imapd.listen: is set without a certificate"}},
		{"imapd plaintext", func(c *Config) { c.IMAPD.Listen, c.IMAPD.AllowPlaintext = "127.0.0.1:1143", true }, nil},
		{"imapd on the web port", func(c *Config) { c.IMAPD.Listen, c.IMAPD.AllowPlaintext = c.Listen, true }, []string{"imapd.listen: \"127.0.0.1:8080\" is the address of another listener"}},
		{"imapd key alone", func(c *Config) { c.IMAPD.TLSKeyFile = "k.pem" }, []string{"imapd.tls_cert_file: is empty but imapd.tls_key_file is set"}},
		{"imapd idle 10s", func(c *Config) { c.IMAPD.IdleTimeout = 10 * time.Second }, []string{"imapd.idle_timeout: 10s is shorter than 1m"}},
		{"imapd no connections", func(c *Config) { c.IMAPD.MaxConnectionsPerUser = 0 }, []string{"imapd.max_connections_per_user: 0 is not between 1 and 1000"}},
		{"empty data_dir", func(c *Config) { c.DataDir = "" }, []string{"data_dir: must not be empty"}},
		{"bad timezone", func(c *Config) { c.Timezone = "Mars/Olympus" }, []string{`timezone: "Mars/Olympus" is not a known time zone`}},
		{"empty timezone", func(c *Config) { c.Timezone = "" }, []string{`timezone: "" is not a known time zone`}},
		{"retention too long", func(c *Config) { c.RetentionDays = 3651 }, []string{"retention_days: 3651 is not between 1 and 3650"}},
		{"snapshot_at 24:00", func(c *Config) { c.SnapshotAt = "24:00" }, []string{`snapshot_at: "24:00" is not a time of day HH:MM`}},
		{"snapshot_at 7:00", func(c *Config) { c.SnapshotAt = "7:00" }, []string{`snapshot_at: "7:00"`}},
		{"snapshot_at 07:60", func(c *Config) { c.SnapshotAt = "07:60" }, []string{`snapshot_at: "07:60"`}},
		{"concurrent_accounts 0", func(c *Config) { c.ConcurrentAccounts = 0 }, []string{"concurrent_accounts: 0 is not between 1 and 256"}},
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, []string{`listen: "localhost" is not host:port`}},
		{"listen on all interfaces", func(c *Config) { c.Listen = ":8080" }, nil},
		{"listen bad port", func(c *Config) { c.Listen = "127.0.0.1:70000" }, []string{`listen: "127.0.0.1:70000"`}},
		{"relative base_url", func(c *Config) { c.BaseURL = "/mtm" }, []string{`base_url: "/mtm" is not an absolute http or https URL`}},
		{"ftp base_url", func(c *Config) { c.BaseURL = "ftp://x/" }, []string{`base_url: "ftp://x/"`}},
		{"https base_url", func(c *Config) { c.BaseURL = "https://x.example/mtm/" }, nil},
		{"imap.address without host", func(c *Config) { c.IMAP.Address = ":143" }, []string{`imap.address: ":143" is not host:port`}},
		{"imap.address empty", func(c *Config) { c.IMAP.Address = "" }, []string{`imap.address: "" is not host:port`}},
		{"imap.address IPv6", func(c *Config) { c.IMAP.Address = "[::1]:993" }, nil},
		{"imap.tls", func(c *Config) { c.IMAP.TLS = "foo" }, []string{`imap.tls: "foo" is not one of none, starttls, tls`}},
		{"separator with space", func(c *Config) { c.IMAP.MasterSeparator = "a b" }, []string{`imap.master_separator: "a b" must be non-empty and without spaces`}},
		{"separator empty", func(c *Config) { c.IMAP.MasterSeparator = "" }, []string{"imap.master_separator"}},
		{"separator long", func(c *Config) { c.IMAP.MasterSeparator = "%%" }, nil},
		{"connections 17", func(c *Config) { c.IMAP.ConnectionsPerAccount = 17 }, []string{"imap.connections_per_account: 17 is not between 1 and 16"}},
		{"timeout 0", func(c *Config) { c.IMAP.Timeout = 0 }, []string{"imap.timeout: 0s is shorter than 1s"}},
		{"accounts.file empty", func(c *Config) { c.Accounts.File = "" }, []string{"accounts.file: must not be empty"}},
		{"smtp.address", func(c *Config) { c.SMTP.Address = "smtp" }, []string{`smtp.address: "smtp" is not host:port`}},
		{"smtp.tls", func(c *Config) { c.SMTP.TLS = "ssl" }, []string{`smtp.tls: "ssl" is not one of none, starttls, tls`}},
		{"smtp.from", func(c *Config) { c.SMTP.From = "not an address" }, []string{`smtp.from: "not an address" is not an email address`}},
		{"smtp.password alone", func(c *Config) { c.SMTP.Password = "pw" }, []string{"smtp.password: is set but smtp.username is empty"}},
		{"log.format", func(c *Config) { c.Log.Format = "xml" }, []string{`log.format: "xml" is not one of text, json`}},
		{"log.level", func(c *Config) { c.Log.Level = "trace" }, []string{`log.level: "trace" is not one of debug, info, warn, error`}},
		{"several", func(c *Config) { c.DataDir, c.Log.Level = "", "loud" }, []string{"data_dir", "log.level"}},
		{"tls cert without key", func(c *Config) { c.HTTP.TLSCertFile = "/c.pem" }, []string{"http.tls_key_file: is empty but http.tls_cert_file is set"}},
		{"tls key without cert", func(c *Config) { c.HTTP.TLSKeyFile = "/k.pem" }, []string{"http.tls_cert_file: is empty but http.tls_key_file is set"}},
		{"tls both", func(c *Config) { c.HTTP.TLSCertFile, c.HTTP.TLSKeyFile = "/c.pem", "/k.pem" }, nil},
		{"trusted proxies", func(c *Config) { c.HTTP.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"} }, nil},
		{"bad trusted proxy", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "proxy.example.org", "10.0.0.1/33"} },
			[]string{`http.trusted_proxies: "proxy.example.org" is not an IP address or CIDR prefix`, `http.trusted_proxies: "10.0.0.1/33"`}},
		{"bad imapd trusted proxy", func(c *Config) { c.IMAPD.TrustedProxies = []string{"10.0.0.5", "lb.example.org"} },
			[]string{`imapd.trusted_proxies: "lb.example.org" is not an IP address or CIDR prefix`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(c)
			checkErr(t, c.Validate(), tt.wantErr)
		})
	}
}

func TestValidateDerived(t *testing.T) {
	c := Default()
	c.Timezone, c.SnapshotAt = "America/New_York", "23:05"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Location.String() != "America/New_York" || c.SnapshotHour != 23 || c.SnapshotMinute != 5 {
		t.Errorf("Location %v, SnapshotHour %d, SnapshotMinute %d", c.Location, c.SnapshotHour, c.SnapshotMinute)
	}
}

func TestCheckIMAPAuth(t *testing.T) {
	tests := []struct {
		name                   string
		user, password, pwFile string
		wantErr                []string
	}{
		{"master user", "backup", "secret", "", nil},
		{"password file", "", "", "/etc/mtm/pw", nil},
		{"neither", "", "", "", []string{"imap.master_user: is empty and so is imap.password_file"}},
		{"both", "backup", "secret", "/etc/mtm/pw", []string{"imap.master_user: is set together with imap.password_file"}},
		{"master user without password", "backup", "", "", []string{"imap.master_password: is required with imap.master_user"}},
		{"password without master user", "", "secret", "/etc/mtm/pw", []string{"imap.master_password: is set but imap.master_user is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.IMAP.MasterUser, c.IMAP.MasterPassword, c.IMAP.PasswordFile = tt.user, tt.password, tt.pwFile
			err := c.CheckIMAPAuth()
			checkErr(t, err, tt.wantErr)
			if err != nil && tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestCheckIMAPAuthNamesEnv(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Load(os.DevNull, []string{"MTM_IMAP_PASSWORD_FILE=pw", "MTM_IMAP_MASTER_USER=backup", "MTM_IMAP_MASTER_PASSWORD=x"})
	if err != nil {
		t.Fatal(err)
	}
	checkErr(t, c.CheckIMAPAuth(), []string{"imap.master_user (MTM_IMAP_MASTER_USER): is set together with imap.password_file (MTM_IMAP_PASSWORD_FILE)"})
}

func TestSlogLevel(t *testing.T) {
	for _, level := range []string{"debug", "info", "warn", "error"} {
		t.Run(level, func(t *testing.T) {
			got := Log{Level: level}.SlogLevel()
			if !strings.EqualFold(got.String(), level) {
				t.Errorf("SlogLevel() = %v", got)
			}
		})
	}
}

func TestIMAPDImplicitTLS(t *testing.T) {
	for _, tc := range []struct {
		i    IMAPD
		want bool
	}{
		{IMAPD{Listen: ":993", TLSCertFile: "c.pem"}, true},
		{IMAPD{Listen: "0.0.0.0:993", TLSCertFile: "c.pem"}, true},
		{IMAPD{Listen: ":1143", TLSCertFile: "c.pem"}, false}, // STARTTLS
		{IMAPD{Listen: ":993"}, false},                        // no certificate: plain text (allow_plaintext)
	} {
		if got := tc.i.ImplicitTLS(); got != tc.want {
			t.Errorf("%+v: ImplicitTLS %v, want %v", tc.i, got, tc.want)
		}
	}
}

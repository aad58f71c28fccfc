package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"mtm/internal/i18n"
)

// Validate checks every value and reports all the problems it finds, each
// naming its key (and its environment variable, when that set it). When the
// values are valid it sets the derived fields Location, SnapshotHour and
// SnapshotMinute. It does not check the IMAP credentials; see CheckIMAPAuth.
func (c *Config) Validate() error {
	v := &validator{c: c}
	if c.DataDir == "" {
		v.errf("data_dir", "must not be empty")
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		v.errf("timezone", "%q is not a known time zone (such as UTC or Europe/Rome)", c.Timezone)
	}
	v.intRange("retention_days", c.RetentionDays, 1, 3650)
	hour, minute, okAt := parseHHMM(c.SnapshotAt)
	if !okAt {
		v.errf("snapshot_at", "%q is not a time of day HH:MM (00:00 to 23:59)", c.SnapshotAt)
	}
	v.intRange("concurrent_accounts", c.ConcurrentAccounts, 1, 256)
	v.hostPort("listen", c.Listen, false)
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errf("base_url", "%q is not an absolute http or https URL", c.BaseURL)
		}
	}

	if u := c.Catalog.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		v.errf("catalog.url", "is not a postgres:// URL (empty: the embedded catalog in data_dir)")
	}
	v.intRange("catalog.max_connections", c.Catalog.MaxConnections, 2, 1000)
	if u := c.Blobs.URL; u != "" {
		if b, _, ok := strings.Cut(strings.TrimPrefix(u, "s3://"), "/"); !strings.HasPrefix(u, "s3://") || !ok && b == "" || b == "" {
			v.errf("blobs.url", "is not an s3://BUCKET/PREFIX URL (empty: the local store in data_dir)")
		}
		if c.Blobs.Endpoint != "" {
			if e, err := url.Parse(c.Blobs.Endpoint); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				v.errf("blobs.endpoint", "%q is not an http or https URL (empty: AWS)", c.Blobs.Endpoint)
			}
		}
		if (c.Blobs.AccessKeyID == "") != (c.Blobs.SecretAccessKey == "") {
			v.errf("blobs.access_key_id", "and blobs.secret_access_key are set together, or both left empty")
		}
	}
	v.intRange("blobs.pack_size_mib", c.Blobs.PackSizeMiB, 1, 1024)
	v.intRange("blobs.upload_concurrency", c.Blobs.UploadConcurrency, 1, 64)

	v.hostPort("imap.address", c.IMAP.Address, true)
	v.tlsMode("imap.tls", c.IMAP.TLS)
	if s := c.IMAP.MasterSeparator; s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
		v.errf("imap.master_separator", "%q must be non-empty and without spaces", s)
	}
	v.intRange("imap.connections_per_account", c.IMAP.ConnectionsPerAccount, 1, 16)
	if _, _, err := net.SplitHostPort(c.Ops.Listen); err != nil {
		v.errf("ops.listen", "%q is not host:port: %v", c.Ops.Listen, err)
	} else if _, port, _ := net.SplitHostPort(c.Ops.Listen); c.Ops.Listen == c.Listen && port != "0" {
		v.errf("ops.listen", "%q is the public listen address too: give the operators' endpoints their own", c.Ops.Listen)
	}
	if c.Audit.RetentionDays < 0 || c.Audit.RetentionDays > 36500 {
		v.errf("audit.retention_days", "%d is not between 0 (keep every event) and 36500", c.Audit.RetentionDays)
	}
	if c.HTTP.ReadTimeout < time.Second {
		v.errf("http.read_timeout", "%s is shorter than 1s (write a Go duration such as \"30s\")", c.HTTP.ReadTimeout)
	}
	if c.HTTP.MaxConnectionsPerClient < 0 {
		v.errf("http.max_connections_per_client", "%d is negative (0 means no limit)", c.HTTP.MaxConnectionsPerClient)
	}
	if c.HTTP.ShutdownTimeout < time.Second {
		v.errf("http.shutdown_timeout", "%s is shorter than 1s (write a Go duration such as \"20s\")", c.HTTP.ShutdownTimeout)
	}
	if c.IMAP.Timeout < time.Second {
		v.errf("imap.timeout", "%s is shorter than 1s (write a Go duration such as \"60s\")", c.IMAP.Timeout)
	}
	if c.Accounts.File == "" {
		v.errf("accounts.file", "must not be empty")
	}

	if c.SMTP.Address != "" {
		v.hostPort("smtp.address", c.SMTP.Address, true)
	}
	v.tlsMode("smtp.tls", c.SMTP.TLS)
	if c.SMTP.From != "" {
		if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			v.errf("smtp.from", "%q is not an email address", c.SMTP.From)
		}
	}
	if c.SMTP.Password != "" && c.SMTP.Username == "" {
		v.errf("smtp.password", "is set but smtp.username is empty")
	}

	proxies := v.httpSection(c.HTTP)
	v.clusterSection(c.Cluster)
	v.alertsSection(c.Alerts)
	imapProxies := v.imapdSection(c)
	if !i18n.Supported(c.Language) {
		v.errf("language", "%q is not a language mtm speaks (%s)", c.Language, strings.Join(i18n.Codes, ", "))
	}

	v.oneOf("log.format", c.Log.Format, "text", "json")
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")

	if err := errors.Join(v.errs...); err != nil {
		return err
	}
	c.Location, c.SnapshotHour, c.SnapshotMinute = loc, hour, minute
	c.HTTP.Proxies, c.IMAPD.Proxies = proxies, imapProxies
	return nil
}

// imapdSection checks the [imapd] keys and returns its trusted proxies.
func (v *validator) imapdSection(c *Config) []netip.Prefix {
	i := c.IMAPD
	proxies := v.proxies("imapd.trusted_proxies", i.TrustedProxies)
	if (i.TLSCertFile == "") != (i.TLSKeyFile == "") {
		key, other := "imapd.tls_cert_file", "imapd.tls_key_file"
		if i.TLSCertFile != "" {
			key, other = other, key
		}
		v.errf(key, "is empty but %s is set; set both or neither", v.label(other))
	}
	v.intRange("imapd.max_connections", i.MaxConnections, 1, 1000000)
	v.intRange("imapd.max_connections_per_user", i.MaxConnectionsPerUser, 1, 1000)
	if i.IdleTimeout < time.Minute {
		v.errf("imapd.idle_timeout", "%s is shorter than 1m (write a Go duration such as \"30m\")", i.IdleTimeout)
	}
	if !i.On() {
		return proxies
	}
	if _, _, err := net.SplitHostPort(i.Listen); err != nil {
		v.errf("imapd.listen", "%q is not host:port: %v", i.Listen, err)
	} else if _, port, _ := net.SplitHostPort(i.Listen); port != "0" && (i.Listen == c.Listen || i.Listen == c.Ops.Listen) {
		v.errf("imapd.listen", "%q is the address of another listener", i.Listen)
	}
	if i.TLSCertFile == "" && !i.AllowPlaintext {
		v.errf("imapd.listen", "is set without a certificate: set imapd.tls_cert_file and imapd.tls_key_file, or imapd.allow_plaintext = true on loopback")
	}
	return proxies
}

// alertsSection checks the [alerts] keys.
func (v *validator) alertsSection(a Alerts) {
	v.intRange("alerts.mass_deletion_messages", a.MassDeletionMessages, 0, 1<<30)
	v.intRange("alerts.mass_deletion_percent", a.MassDeletionPercent, 0, 100)
}

// clusterSection checks the [cluster] keys.
func (v *validator) clusterSection(cl Cluster) {
	if len(cl.Roles) == 0 {
		v.errf("cluster.roles", "is empty: give at least one of %q, %q and %q", RoleWeb, RoleWorker, RoleScheduler)
	}
	seen := map[string]bool{}
	for _, r := range cl.Roles {
		if r != RoleWeb && r != RoleWorker && r != RoleScheduler || seen[r] {
			v.errf("cluster.roles", "%q is not a role, or is given twice (roles: %q, %q, %q)", r,
				RoleWeb, RoleWorker, RoleScheduler)
		}
		seen[r] = true
	}
	v.intRange("cluster.worker_concurrency", cl.WorkerConcurrency, 1, 1024)
	if cl.NightWindow < time.Minute || cl.NightWindow > 24*time.Hour {
		v.errf("cluster.night_window", "%s is not between 1m and 24h (write a Go duration such as \"6h\")", cl.NightWindow)
	}
	v.intRange("cluster.imap_connections", cl.IMAPConnections, 0, 100000)
	for _, a := range cl.Operators {
		if _, err := mail.ParseAddress(a); err != nil {
			v.errf("cluster.operators", "%q is not an email address", a)
		}
	}
}

// httpSection checks the [http] keys and returns the trusted proxies
// parsed, nil if there are none.
func (v *validator) httpSection(h HTTP) []netip.Prefix {
	if (h.TLSCertFile == "") != (h.TLSKeyFile == "") {
		key, other := "http.tls_cert_file", "http.tls_key_file"
		if h.TLSCertFile != "" {
			key, other = other, key
		}
		v.errf(key, "is empty but %s is set; set both or neither", v.label(other))
	}
	return v.proxies("http.trusted_proxies", h.TrustedProxies)
}

// proxies parses a list of trusted proxies, the value of key.
func (v *validator) proxies(key string, list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		p, err := ParseProxy(s)
		if err != nil {
			v.errf(key, "%v", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// ParseProxy parses one entry of http.trusted_proxies: an IP address
// (a prefix of one address) or a CIDR prefix such as "10.0.0.0/8". An
// IPv4-mapped IPv6 address reads as IPv4.
func ParseProxy(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix (such as 127.0.0.1 or 10.0.0.0/8)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// CheckIMAPAuth checks that the configuration says how to log in to the
// accounts: either a master user with its password, or a password file, and
// not both. Snapshotting needs it; the web UI does not.
func (c *Config) CheckIMAPAuth() error {
	v := &validator{c: c}
	m := c.IMAP
	switch {
	case m.MasterUser != "" && m.PasswordFile != "":
		v.errf("imap.master_user", "is set together with %s; use one of them", v.label("imap.password_file"))
	case m.MasterUser == "" && m.PasswordFile == "":
		v.errf("imap.master_user", "is empty and so is imap.password_file; set a master user (with imap.master_password) or a password file")
	case m.MasterUser != "" && m.MasterPassword == "":
		v.errf("imap.master_password", "is required with imap.master_user")
	}
	if m.MasterUser == "" && m.MasterPassword != "" {
		v.errf("imap.master_password", "is set but imap.master_user is empty")
	}
	return errors.Join(v.errs...)
}

// validator collects the errors of one check.
type validator struct {
	c    *Config
	errs []error
}

// label names key, and its environment variable when that set it.
func (v *validator) label(key string) string {
	if env, ok := v.c.fromEnv[key]; ok {
		return key + " (" + env + ")"
	}
	return key
}

func (v *validator) errf(key, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", v.label(key), fmt.Sprintf(format, args...)))
}

func (v *validator) intRange(key string, n, lo, hi int) {
	if n < lo || n > hi {
		v.errf(key, "%d is not between %d and %d", n, lo, hi)
	}
}

func (v *validator) oneOf(key, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.errf(key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

func (v *validator) tlsMode(key string, m TLSMode) {
	v.oneOf(key, string(m), string(TLSNone), string(TLSStartTLS), string(TLSImplicit))
}

// hostPort checks s is host:port with a numeric port; the host may be empty
// (all interfaces) unless needHost.
func (v *validator) hostPort(key, s string, needHost bool) {
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	// Port 0 (any free port) only where the host may be empty: the listen
	// address, which tests and the demo bind to a free port.
	if err != nil || perr != nil || n < 0 || (n == 0 && needHost) || n > 65535 || (needHost && host == "") {
		example := "127.0.0.1:143"
		if !needHost {
			example = "127.0.0.1:8080 or :8080"
		}
		v.errf(key, "%q is not host:port (such as %s)", s, example)
	}
}

// parseHHMM parses a 24-hour "HH:MM".
func parseHHMM(s string) (hour, minute int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, false
		}
	}
	hour = int(s[0]-'0')*10 + int(s[1]-'0')
	minute = int(s[3]-'0')*10 + int(s[4]-'0')
	if hour > 23 || minute > 59 {
		return 0, 0, false
	}
	return hour, minute, true
}

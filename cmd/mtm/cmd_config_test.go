package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mtm/internal/config"
)

// writeTestCert writes a self-signed certificate for mtm.example.org,
// valid until notAfter, and its key into dir; it returns their paths.
func writeTestCert(t *testing.T, dir string, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mtm.example.org"},
		DNSNames: []string{"mtm.example.org"}, NotBefore: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for p, b := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(p, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// configCheck runs `mtm config check --config path` with env.
func configCheck(t *testing.T, path string, env ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), &environment{stdout: &out, stderr: &errOut, getenv: env},
		[]string{"config", "check", "--config", path})
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "mtm.toml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheckOK(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := os.WriteFile(filepath.Join(dir, "accounts.txt"), []byte("alice@example.com\n# gone\nbob@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, dir, fmt.Sprintf(`data_dir = "data/mtm" # does not exist yet: created at start
timezone = "Europe/Rome"
snapshot_at = "01:30"
[imap]
address = "mail.example.org:993"
tls = "tls"
master_user = "backup"
[accounts]
file = "accounts.txt"
[smtp]
address = "smtp.example.org:587"
tls = "starttls"
from = "MTM <mtm@example.org>"
[http]
tls_cert_file = %q
tls_key_file = %q
`, certFile, keyFile))
	code, out, errOut := configCheck(t, path, "MTM_IMAP_MASTER_PASSWORD=secret", "MTM_HTTP_TRUSTED_PROXIES=127.0.0.1,::1")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"ok: " + path + "\n",
		"data_dir  " + filepath.Join(dir, "data", "mtm") + "\n",
		"schedule  daily at 01:30 Europe/Rome, 15 days kept, 4 accounts at a time\n",
		"accounts  2 in " + filepath.Join(dir, "accounts.txt") + "\n",
		"imap      mail.example.org:993 (tls), master user backup\n",
		"smtp      smtp.example.org:587 (starttls) from MTM <mtm@example.org>\n",
		"web       127.0.0.1:8080, HTTPS (certificate for mtm.example.org valid until 2100-01-01), " +
			"forwarded headers trusted from 127.0.0.1/32 ::1/128\n",
		"log       text, info\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Error("the output shows the master password")
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("config check created the data directory: %v", err)
	}
}

func TestConfigCheckValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeConfig(t, dir, `retention_days = 0
colour = "blue"
[imap]
tls = "ssl"
master_user = "backup"
[http]
trusted_proxies = ["proxy.example.org"]
`)
	code, out, errOut := configCheck(t, path, "MTM_LOG_FORMAT=xml")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	want := []string{
		`config file ` + path + `: unknown key "colour"`,
		"retention_days: 0 is not between 1 and 3650",
		`imap.tls: "ssl" is not one of none, starttls, tls`,
		`http.trusted_proxies: "proxy.example.org" is not an IP address or CIDR prefix (such as 127.0.0.1 or 10.0.0.0/8)`,
		`log.format (MTM_LOG_FORMAT): "xml" is not one of text, json`,
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant one per line:\n%s", out, strings.Join(want, "\n"))
	}
	if !strings.Contains(errOut, "mtm config: "+path+": 5 problems") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestConfigCheckMachine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dataFile := filepath.Join(dir, "not-a-dir")
	pwFile := filepath.Join(dir, "passwords")
	for p, content := range map[string]string{dataFile: "", pwFile: "alice@example.com:pw\n"} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(pwFile, 0o644); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writeTestCert(t, dir, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	path := writeConfig(t, dir, fmt.Sprintf(`data_dir = %q
[imap]
password_file = "passwords"
[accounts]
file = "missing.txt"
[smtp]
address = "smtp.example.org:25"
[http]
tls_cert_file = %q
tls_key_file = %q
`, dataFile, certFile, keyFile))
	code, out, _ := configCheck(t, path)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"data_dir: " + dataFile + " is not a directory [checked on this machine]\n",
		"accounts.file: ", "missing.txt", // the message is config.ReadAccounts'
		"imap.password_file: password file " + pwFile + " has mode 0644",
		"smtp.from: is empty but smtp.address is set",
		"http.tls_cert_file: " + certFile + " is not valid now (valid from 2019-01-01T00:00:00Z to 2020-01-01T00:00:00Z) [checked on this machine]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 5 {
		t.Errorf("%d lines, want one per problem (5):\n%s", n, out)
	}

	// With the mode fixed and the accounts listed, the password file is
	// checked against the accounts.
	if err := os.Chmod(pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	accounts := filepath.Join(dir, "missing.txt")
	if err := os.WriteFile(accounts, []byte("alice@example.com\nbob@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ = configCheck(t, path)
	if want := "imap.password_file: " + pwFile + " has no password for 1 accounts of accounts.file (first: bob@example.com)"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

func TestConfigCheckUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"config"}, {"config", "verify"}, {"config", "check", "extra"}} {
		var out bytes.Buffer
		if code := run(context.Background(), &environment{stdout: &out, stderr: &out}, args); code != 2 {
			t.Errorf("mtm %v: exit %d, want 2\n%s", args, code, out.String())
		}
	}
	code, out, errOut := configCheck(t, filepath.Join(t.TempDir(), "nope.toml"))
	if code != 1 || !strings.Contains(out, "no configuration file") || !strings.Contains(errOut, "1 problem\n") {
		t.Errorf("missing file: exit %d\n%s%s", code, out, errOut)
	}
}

// TestLogFormats checks that log.format selects slog's text or JSON lines
// and log.level filters them, through the commands' newLogger.
func TestLogFormats(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := config.Default()
			cfg.Log = config.Log{Format: format, Level: "warn"}
			log := newLogger(&environment{stderr: &buf}, cfg)
			log.Info("hidden", "account", "a@example.com")
			log.Warn("snapshot failed", "account", "a@example.com", "attempt", 2)
			line := buf.String()
			if strings.Count(line, "\n") != 1 || strings.Contains(line, "hidden") {
				t.Fatalf("want only the warning, one line:\n%s", line)
			}
			if format == "text" {
				if !strings.Contains(line, `level=WARN msg="snapshot failed" account=a@example.com attempt=2`) {
					t.Errorf("text line %q", line)
				}
				return
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not JSON: %v: %q", err, line)
			}
			if rec["level"] != "WARN" || rec["msg"] != "snapshot failed" || rec["account"] != "a@example.com" ||
				rec["attempt"] != float64(2) || rec["time"] == nil {
				t.Errorf("JSON record %v", rec)
			}
		})
	}
}

// TestConfigCheckExposedSecrets: a configuration file that every local
// user may read and that holds the master password is a problem, said
// with the fix; the same file readable by its owner alone, or with the
// password given in the environment, is not.
func TestConfigCheckExposedSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "accounts.txt"), []byte("alice@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const base = "data_dir = \"data\"\n[accounts]\nfile = \"accounts.txt\"\n[imap]\nmaster_user = \"backup\"\n"
	path := writeConfig(t, dir, base+"master_password = \"hunter2-but-longer\"\n")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := configCheck(t, path)
	if code == 0 || !strings.Contains(out+errOut, "every local user may read it (mode -rw-r--r--), and it holds imap.master_password: chmod 600") {
		t.Errorf("a world-readable file with the master password: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "hunter2") {
		t.Error("the check shows the password")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := configCheck(t, path); code != 0 {
		t.Errorf("the owner's alone: exit %d\n%s%s", code, out, errOut)
	}
	path = writeConfig(t, dir, base)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := configCheck(t, path, "MTM_IMAP_MASTER_PASSWORD=hunter2-but-longer"); code != 0 {
		t.Errorf("the password from the environment: exit %d\n%s%s", code, out, errOut)
	}
}

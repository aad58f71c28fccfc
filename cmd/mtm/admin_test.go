package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminCommands adds admins with passwords on standard input, lists
// and removes them, and refuses short passwords, duplicates and bad domains.
func TestAdminCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mtm.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\n", filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := func(stdin string, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: []string{}}
		code := run(context.Background(), env, append([]string{"admin", args[0], "--config", cfg}, args[1:]...))
		return code, out.String() + errOut.String()
	}
	if code, out := admin("a long enough password\n", "add", "--email", "boss@example.com", "--domain", "Example.COM",
		"--domain", "bücher.de"); code != 0 || !strings.Contains(out, "for example.com, xn--bcher-kva.de") {
		t.Fatalf("add: exit %d\n%s", code, out)
	}
	// An internationalized domain is stored as it is sent: in ASCII.
	if code, out := admin("yet another long password\n", "add", "--email", "Chef@Bücher.de"); code != 0 ||
		!strings.Contains(out, "added admin chef@xn--bcher-kva.de") {
		t.Fatalf("add an IDN address: exit %d\n%s", code, out)
	}
	if code, out := admin("", "remove", "--email", "chef@xn--bcher-kva.de"); code != 0 {
		t.Fatalf("remove: exit %d\n%s", code, out)
	}
	if code, out := admin("another long password\n", "add", "--email", "root@example.net"); code != 0 ||
		!strings.Contains(out, "for every domain") {
		t.Fatalf("add global: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"short\n", []string{"add", "--email", "x@example.com"}, "at least 10 characters"},
		// The password policy: ten spaces, the address, common passwords and patterns.
		{"          \n", []string{"add", "--email", "x@example.com"}, "at least 10 characters"},
		{"x@example.com\n", []string{"add", "--email", "x@example.com"}, "must not contain the admin's address"},
		{"password123\n", []string{"add", "--email", "x@example.com"}, "too easy to guess"},
		{"qwertyuiop\n", []string{"add", "--email", "x@example.com"}, "too easy to guess"},
		{"example.com2026\n", []string{"add", "--email", "x@example.com"}, "too easy to guess"},
		{"a long enough password\n", []string{"add", "--email", "BOSS@example.com"}, "exists already"},
		{"a long enough password\n", []string{"add", "--email", "y@example.com", "--domain", "not a domain"}, "not a domain"},
		{"a long enough password\n", []string{"add", "--email", "not-an-address"}, "must be an email address"},
		{"a long enough password\n", []string{"add", "--email", "@"}, "must be an email address"},
		{"a long enough password\n", []string{"add", "--email", "jürgen@example.com"}, "needs SMTPUTF8"},
		{"a long enough password\n", []string{"add", "--email", "a b@example.com"}, "not a plain name"},
		{"a long enough password\n", []string{"add", "--email", "x@nodot"}, "not a domain name"},
		{"", []string{"remove", "--email", "nobody@example.com"}, "not found"},
	} {
		if code, out := admin(tc.stdin, tc.args...); code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("admin %v: exit %d, want an error saying %q:\n%s", tc.args, code, tc.want, out)
		}
	}
	if code, out := admin("", "list"); code != 0 ||
		out != "boss@example.com\texample.com xn--bcher-kva.de\nroot@example.net\tall domains\n" {
		t.Errorf("list: exit %d\n%q", code, out)
	}
	if code, out := admin("", "reset-2fa", "--email", "Root@example.net"); code != 0 ||
		!strings.Contains(out, "cleared the second factor of root@example.net") {
		t.Errorf("reset-2fa: exit %d\n%s", code, out)
	}
	if code, out := admin("", "reset-2fa", "--email", "nobody@example.net"); code == 0 || !strings.Contains(out, "not found") {
		t.Errorf("reset-2fa of nobody: exit %d\n%s", code, out)
	}
	if code, out := admin("", "remove", "--email", "root@example.net"); code != 0 {
		t.Fatalf("remove: exit %d\n%s", code, out)
	}
	if _, out := admin("", "list"); strings.Contains(out, "root@") {
		t.Errorf("removed admin still listed:\n%s", out)
	}
}

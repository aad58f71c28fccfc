package dovecotctl

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// passwdLine is one passwd-file entry. The password is base64-encoded so
// that any byte, ':' included, is allowed.
func passwdLine(user, password string) string {
	return fmt.Sprintf("%s:{PLAIN.B64}%s::::::\n", user, base64.StdEncoding.EncodeToString([]byte(password)))
}

// AddUser creates the account address with the given password, or changes
// its password if it exists. Logins see it at once. Dovecot lower-cases user
// names, so the address is stored lower-cased.
func (i *Instance) AddUser(address, password string) error {
	user := strings.ToLower(address)
	if user == "" || user[0] == '.' || strings.ContainsAny(user, ":/*\x00\r\n\t ") {
		return fmt.Errorf("dovecot: AddUser: unusable address %q", address)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	path := filepath.Join(i.Dir, "users", user)
	old, statErr := os.Stat(path)
	if err := i.writeSecret(path, []byte(passwdLine(user, password))); err != nil {
		return fmt.Errorf("dovecot: AddUser %s: %w", address, err)
	}
	if statErr != nil {
		return nil // a new file: Dovecot has never cached it
	}
	// Dovecot notices a change by mtime (in seconds) and size, and looks at
	// most once per second: move the mtime on, then wait until it is read.
	later := old.ModTime().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		return fmt.Errorf("dovecot: AddUser %s: %w", address, err)
	}
	for n := 0; ; n++ {
		err := exec.Command(i.doveadm, "-c", i.conf, "auth", "test", user, password).Run()
		if err == nil {
			return nil
		}
		if n == 50 {
			return fmt.Errorf("dovecot: AddUser %s: new password not accepted: %w", address, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Doveadm runs doveadm with the instance's configuration and returns its
// standard output. The error holds its standard error.
func (i *Instance) Doveadm(args ...string) (string, error) {
	cmd := exec.Command(i.doveadm, append([]string{"-c", i.conf}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("doveadm %s: %w\n%s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

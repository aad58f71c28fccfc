package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"unicode"
)

// ReadAccounts reads the accounts file at path: one address per line, with
// blank lines and comments ignored. A comment is a line whose first non-blank
// character is '#', or the rest of a line after a blank followed by '#'.
// Addresses are trimmed and lower-cased; a repeated address is kept once, at
// its first position. Every invalid line is reported with the file name and
// line number. A file without addresses yields an empty list.
func ReadAccounts(path string) (addrs []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading accounts: %w", err)
	}
	defer closeFile(f, &err)

	seen := map[string]bool{}
	var errs []error
	lineErr := func(n int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, args...)))
	}
	err = eachLine(f, func(n int, line string) {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
			return
		case len(fields) > 1 && !strings.HasPrefix(fields[1], "#"):
			lineErr(n, "%q: one address per line, without spaces", strings.TrimSpace(line))
			return
		}
		addr := strings.ToLower(fields[0])
		if err := checkAddress(addr); err != nil {
			lineErr(n, "%q: %v", fields[0], err)
			return
		}
		if !seen[addr] {
			seen[addr] = true
			addrs = append(addrs, addr)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("reading accounts %s: %w", path, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if addrs == nil {
		addrs = []string{}
	}
	return addrs, nil
}

// ReadPasswords reads the password file at path: "address:password" lines,
// split at the first colon, so a password may contain colons but an address
// may not. Blank lines and lines starting with '#' are ignored; the address
// is trimmed and lower-cased, the password is taken as is. The file must not
// be accessible by group or others. Errors name the line, but never quote
// its text, which may be a password.
func ReadPasswords(path string) (passwords map[string]string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading passwords: %w", err)
	}
	defer closeFile(f, &err)
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading passwords: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("password file %s has mode %04o, which lets group or others access it; run chmod 600 %s", path, perm, path)
	}

	passwords = map[string]string{}
	firstLine := map[string]int{}
	var errs []error
	lineErr := func(n int, msg string) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", path, n, msg))
	}
	err = eachLine(f, func(n int, line string) {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			return
		}
		addr, password, ok := strings.Cut(line, ":")
		addr = strings.ToLower(strings.TrimSpace(addr))
		switch {
		case !ok:
			lineErr(n, "no colon; want address:password")
		case checkAddress(addr) != nil:
			lineErr(n, "the text before the first colon is not an email address")
		case password == "":
			lineErr(n, "empty password")
		case firstLine[addr] != 0:
			lineErr(n, fmt.Sprintf("%s already has a password on line %d", addr, firstLine[addr]))
		default:
			firstLine[addr] = n
			passwords[addr] = password
		}
	})
	if err != nil {
		return nil, fmt.Errorf("reading passwords %s: %w", path, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return passwords, nil
}

// eachLine calls fn with every line of r and its 1-based number, without the
// line ending ("\n" or "\r\n").
func eachLine(r io.Reader, fn func(n int, line string)) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		fn(n, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return sc.Err()
}

// checkAddress checks that addr is a bare address: local@domain, exactly one
// '@', no spaces or control characters, and accepted by net/mail as is.
func checkAddress(addr string) error {
	if strings.ContainsFunc(addr, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New("contains spaces or control characters")
	}
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return errors.New("not an address of the form local@domain")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return errors.New("not a valid email address")
	}
	return nil
}

// closeFile closes a file opened for reading, keeping the first error.
func closeFile(f *os.File, err *error) {
	if cerr := f.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

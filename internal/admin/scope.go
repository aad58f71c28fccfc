package admin

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// Admin is an admin account.
type Admin struct {
	Email string
	// Domains are the domains whose accounts the admin is responsible
	// for, lower case; none means a global admin.
	Domains []string
}

// Global tells whether the admin is responsible for every domain.
func (a Admin) Global() bool { return len(a.Domains) == 0 }

// Responsible tells whether the admin may see and decide requests of the
// account with this address.
func (a Admin) Responsible(account string) bool {
	if a.Global() {
		return true
	}
	d := Domain(account)
	for _, x := range a.Domains {
		if x == d {
			return true
		}
	}
	return false
}

// Domain returns the domain of an address, lower case and in ASCII
// (punycode) form, "" if it has none.
func Domain(address string) string {
	i := strings.LastIndexByte(address, '@')
	if i < 0 {
		return ""
	}
	d := strings.ToLower(address[i+1:])
	if ascii, err := idna.Lookup.ToASCII(d); err == nil {
		return ascii
	}
	return d
}

// NormalizeDomain checks a domain given on the command line and returns it
// lower case, in its ASCII (punycode) form as accounts use it.
func NormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" || !strings.Contains(ascii, ".") {
		return "", fmt.Errorf("domain %q: not a domain name", d)
	}
	return ascii, nil
}

// ErrBadAdmin: what was given for a new admin cannot make one.
var ErrBadAdmin = errors.New("bad admin")

// NewScope checks what makes a new admin's scope: the email address (the
// login and where the emails go) and the domains it decides for (none:
// every domain), normalized as they are stored.
func NewScope(email string, domains []string) (Admin, error) {
	email = strings.TrimSpace(email)
	if !strings.Contains(email, "@") {
		return Admin{}, fmt.Errorf("%w: %q must be an email address", ErrBadAdmin, email)
	}
	a := Admin{Email: email}
	for _, d := range domains {
		n, err := NormalizeDomain(d)
		if err != nil {
			return Admin{}, fmt.Errorf("%w: %v", ErrBadAdmin, err)
		}
		a.Domains = append(a.Domains, n)
	}
	return a, nil
}

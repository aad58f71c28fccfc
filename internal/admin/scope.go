package admin

import (
	"errors"
	"fmt"
	"regexp"
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
	email, err := NormalizeAddress(email)
	if err != nil {
		return Admin{}, fmt.Errorf("%w: %v", ErrBadAdmin, err)
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

// dotAtom is RFC 5322's dot-atom: the local part of an address that any
// SMTP server takes without quoting.
var dotAtom = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

// NormalizeAddress checks an admin's or an operator's email address, where
// mtm sends email, and returns it lower case with its domain in ASCII
// (punycode, IDNA 2008): "Boss@Bücher.de" is "boss@xn--bcher-kva.de". The
// local part must be a dot-atom of ASCII (RFC 5322): one in another script
// (RFC 6531) needs the SMTPUTF8 extension, which mtm does not send.
func NormalizeAddress(address string) (string, error) {
	address = strings.TrimSpace(address)
	i := strings.LastIndexByte(address, '@')
	if i <= 0 || i == len(address)-1 {
		return "", fmt.Errorf("%q must be an email address (name@domain)", address)
	}
	local, domain := address[:i], address[i+1:]
	if !dotAtom.MatchString(local) || len(local) > 64 {
		for _, r := range local {
			if r > 0x7f {
				return "", fmt.Errorf("%q: a name before the @ in another script than ASCII needs SMTPUTF8, "+
					"which mtm does not send; give an ASCII address", address)
			}
		}
		return "", fmt.Errorf("%q: %q is not a plain name before the @ (RFC 5322 dot-atom)", address, local)
	}
	ascii, err := NormalizeDomain(domain)
	if err != nil {
		return "", fmt.Errorf("%q: %v", address, err)
	}
	out := strings.ToLower(local) + "@" + ascii
	if len(out) > 254 {
		return "", fmt.Errorf("%q is longer than an address may be (254)", address)
	}
	return out, nil
}

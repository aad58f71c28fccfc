// Package admin owns the admin accounts of the admin panel: their
// argon2id password hashes and the rule for a new password, which
// accounts' requests each may see and decide (a global admin all of them,
// a domain admin those of its domains), and who is told of an account's
// event (ResponsibleFor, the one rule for every such email). The accounts
// themselves are rows of the catalog's admins table; this package decides
// what they mean.
package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters (RFC 9106).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams follow RFC 9106's second recommended option, scaled to a
// machine that also serves users: 64 MiB, 3 passes.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
)

// Hash returns the PHC string of password:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>, base64 without padding.
func Hash(password string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash is returned for a stored hash this package cannot read.
var ErrBadHash = errors.New("not an argon2id hash")

// Verify tells whether password matches the PHC string hash, comparing in
// constant time.
func Verify(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	var p Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// MinPassword is the fewest characters an admin's new password may have.
const MinPassword = 10

// MinStrength is the least zxcvbn score (0 to 4) of a new admin password:
// 3 is "safely unguessable" against an attacker with the hash.
const MinStrength = 3

// CheckNewPassword says what is wrong with a new password of the admin
// with this email, or nil: at least MinPassword characters, not the
// address or made from it, and not common or easy to guess (zxcvbn's
// lists of common passwords, words and names, keyboard patterns, repeats
// and dates, score at least MinStrength).
func CheckNewPassword(pw, email string) error {
	if len([]rune(strings.TrimSpace(pw))) < MinPassword {
		return fmt.Errorf("the password must have at least %d characters (spaces at its ends do not count)", MinPassword)
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if strings.Contains(strings.ToLower(pw), email) && email != "" {
		return errors.New("the password must not contain the admin's address")
	}
	local, domain, _ := strings.Cut(email, "@")
	inputs := []string{email, local, domain, "mtm", "mailtimemachine", "admin", "backup"}
	inputs = append(inputs, strings.Split(domain, ".")...)
	if r := zxcvbn.PasswordStrength(pw, inputs); r.Score < MinStrength {
		return errors.New("the password is too easy to guess (a common password, the address, a keyboard pattern, " +
			"repeats or a date); a few unrelated words make a good one")
	}
	return nil
}

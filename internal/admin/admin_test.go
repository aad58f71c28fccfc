package admin

import (
	"errors"
	"strings"
	"testing"
)

var fast = Params{Memory: 1024, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %q is not a PHC argon2id string with the default parameters", h)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}} {
		ok, err := Verify(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	h2, err := Hash("correct horse battery", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyRejectsBadHashes(t *testing.T) {
	good, err := Hash("pw", fast)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":       "",
		"bcrypt":      "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"argon2i":     strings.Replace(good, "argon2id", "argon2i", 1),
		"old version": strings.Replace(good, "v=19", "v=16", 1),
		"zero cost":   strings.Join([]string{"", parts[1], parts[2], "m=0,t=0,p=0", parts[4], parts[5]}, "$"),
		"bad salt":    strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"no key":      strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], ""}, "$"),
	} {
		if ok, err := Verify(h, "pw"); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("%s: Verify = %v, %v; want false, ErrBadHash", name, ok, err)
		}
	}
	// The key's first character changed (to one it is not: 1 time in 64
	// it was "A" already, and the test failed).
	first := "A"
	if parts[5][0] == 'A' {
		first = "B"
	}
	tampered := strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], first + parts[5][1:]}, "$")
	if ok, err := Verify(tampered, "pw"); ok || err != nil {
		t.Errorf("tampered key: Verify = %v, %v; want false, nil", ok, err)
	}
}

func TestResponsible(t *testing.T) {
	global := Admin{Email: "root@example.net"}
	dom := Admin{Email: "boss@example.com", Domains: []string{"example.com", "xn--bcher-kva.de"}}
	for _, tc := range []struct {
		a       Admin
		account string
		want    bool
	}{
		{global, "anyone@anywhere.org", true},
		{dom, "alice@example.com", true},
		{dom, "Alice@EXAMPLE.com", true},
		{dom, "bob@example.org", false},
		{dom, "eve@sub.example.com", false},
		{dom, "eve@example.com.evil.org", false},
		{dom, "no-domain", false},
		{dom, "klaus@bücher.de", true},
		{dom, `"a@example.com"@evil.org`, false},
	} {
		if got := tc.a.Responsible(tc.account); got != tc.want {
			t.Errorf("%s responsible for %q = %v, want %v", tc.a.Email, tc.account, got, tc.want)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{"Example.COM.": "example.com", "bücher.de": "xn--bcher-kva.de"} {
		if got, err := NormalizeDomain(in); err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "localhost", "exa mple.com", "a@b.com"} {
		if _, err := NormalizeDomain(bad); err == nil {
			t.Errorf("NormalizeDomain(%q) accepted", bad)
		}
	}
}

package webmail

import (
	"context"
	"testing"
)

// TestSettings: a user reads and turns off the warning about vanished
// mail for their own account only; a visitor without a session, a
// request from another site and a body that is not JSON change nothing.
func TestSettings(t *testing.T) {
	f := newFixture(t)
	anon, alice, bob := f.anon(), f.login("alice@example.com", "alice-pw"), f.login("bob@example.com", "bob-pw")
	if res, body := alice.do("GET", "/api/v1/settings", ""); res.StatusCode != 200 || body != `{"mass_deletion_warning":true,"language":""}`+"\n" {
		t.Fatalf("alice's settings: %d %s", res.StatusCode, body)
	}
	for _, c := range []struct {
		who  string
		cl   *client
		body string
		hdr  []string
		code int
	}{
		{"anonymous", anon, `{"mass_deletion_warning":false}`, nil, 401},
		{"another site", alice, `{"mass_deletion_warning":false}`, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"not JSON", alice, `mass_deletion_warning=false`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"bad JSON", alice, `{"mass_deletion_warning":"no"}`, nil, 400},
	} {
		if res, body := c.cl.do("PUT", "/api/v1/settings", c.body, c.hdr...); res.StatusCode != c.code {
			t.Errorf("%s: %d %s, want %d", c.who, res.StatusCode, body, c.code)
		}
	}
	if res, body := alice.do("PUT", "/api/v1/settings", `{"mass_deletion_warning":false}`); res.StatusCode != 200 ||
		body != `{"mass_deletion_warning":false,"language":""}`+"\n" {
		t.Fatalf("turning it off: %d %s", res.StatusCode, body)
	}
	set, err := f.st.Cat.AccountSettings(context.Background(), f.alice[0].Account)
	if err != nil || set.MassDeletionWarning {
		t.Errorf("alice's stored settings: %+v %v", set, err)
	}
	if _, body := bob.do("GET", "/api/v1/settings", ""); body != `{"mass_deletion_warning":true,"language":""}`+"\n" {
		t.Errorf("bob's settings followed alice's: %s", body)
	}
	if _, body := alice.do("PUT", "/api/v1/settings", `{}`); body != `{"mass_deletion_warning":false,"language":""}`+"\n" {
		t.Errorf("an empty change changed something: %s", body)
	}
	if res, body := alice.do("PUT", "/api/v1/settings", `{"language":"it"}`); res.StatusCode != 200 ||
		body != `{"mass_deletion_warning":false,"language":"it"}`+"\n" {
		t.Errorf("choosing Italian: %d %s", res.StatusCode, body)
	}
	if res, _ := alice.do("PUT", "/api/v1/settings", `{"language":"xx"}`); res.StatusCode != 400 {
		t.Errorf("an unknown language: %d", res.StatusCode)
	}
}

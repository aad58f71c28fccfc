package webadmin

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/imapconn"
	"mtm/internal/notify"
	"mtm/internal/restoreflow"
)

const pw = "a long enough password"

// panel is the admin panel over a real catalog holding one pending request
// of alice@example.com, with three admins: boss (example.com), other
// (example.org) and root (every domain).
type panel struct {
	t   *testing.T
	srv *httptest.Server
	cat *catalog.DB
	clk *clock.Fake
	id  catalog.RestoreID
}

func newPanel(t *testing.T) *panel {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	cat, err := catalog.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), catalog.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	fast := admin.Params{Memory: 1024, Time: 1, Threads: 1}
	for email, domains := range map[string][]string{"boss@example.com": {"example.com"},
		"other@example.org": {"example.org"}, "root@example.net": nil} {
		h, err := admin.Hash(pw, fast)
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.AddAdmin(ctx, catalog.AdminRow{Email: email, PasswordHash: h, Domains: domains}); err != nil {
			t.Fatal(err)
		}
	}
	p := &panel{t: t, cat: cat, clk: clk}
	p.id = p.request("alice@example.com")
	cfg := config.Default()
	cfg.SMTP.From = "mtm@example.com"
	mailer, err := notify.New(cfg, notify.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	flow := restoreflow.New(restoreflow.Options{Catalog: cat, Mailer: mailer, Clock: clk,
		Server: imapconn.Server{Address: "127.0.0.1:1", Timeout: time.Second, Credentials: imapconn.Passwords{}}})
	s, err := New(Options{Catalog: cat, Flow: flow, Clock: clk, BaseURL: "https://mtm.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewServer(s.Handler())
	t.Cleanup(p.srv.Close)
	t.Cleanup(flow.Wait)
	return p
}

// request commits a snapshot of address and files a pending request of it.
func (p *panel) request(address string) catalog.RestoreID {
	p.t.Helper()
	ctx := context.Background()
	acct, err := p.cat.Account(ctx, address)
	if err != nil {
		p.t.Fatal(err)
	}
	run, err := p.cat.BeginSnapshot(ctx, acct)
	if err != nil {
		p.t.Fatal(err)
	}
	mb, err := run.Mailbox(ctx, "INBOX", 1)
	if err != nil {
		p.t.Fatal(err)
	}
	var b catalog.Batch
	b.AddMessage(mb.ID, 1, nil, p.clk.Now(), catalog.Content{Hash: sha256.Sum256([]byte(address)), Size: 1})
	if err := run.Flush(ctx, &b); err != nil {
		p.t.Fatal(err)
	}
	if err := run.StageFolders(ctx, []catalog.FolderState{{Name: "INBOX", MailboxID: mb.ID, Delimiter: "/"}}); err != nil {
		p.t.Fatal(err)
	}
	snap, err := run.Commit(ctx, catalog.RunStats{})
	if err != nil {
		p.t.Fatal(err)
	}
	id, err := p.cat.RequestRestore(ctx, catalog.RestoreRequest{Account: acct, Snapshot: snap.ID, Target: "original",
		RequestedBy: address, Preview: json.RawMessage(`[{"Folder":"INBOX","Messages":1}]`)}, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

// client returns an HTTP client logged in as email ("" for anonymous).
func (p *panel) client(email string) *http.Client {
	p.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if email != "" {
		if code, body := p.do(c, "POST", "/api/v1/admin/session", fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw)); code != 200 {
			p.t.Fatalf("login as %s: %d %s", email, code, body)
		}
	}
	return c
}

func (p *panel) do(c *http.Client, method, path, body string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.srv.URL+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close() //nolint:errcheck // test
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestAuthorizationMatrix: every route, for anonymous, the responsible
// domain admin, another domain's admin and a global admin.
func TestAuthorizationMatrix(t *testing.T) {
	p := newPanel(t)
	id := fmt.Sprint(p.id)
	type route struct{ method, path, body string }
	read := []route{{"GET", "/api/v1/admin/restores", ""}, {"GET", "/api/v1/admin/restores/" + id, ""},
		{"GET", "/api/v1/admin/backups", ""}, {"GET", "/admin/restores", ""}, {"GET", "/admin/restores/" + id, ""},
		{"GET", "/admin/backups", ""}, {"GET", "/admin/outbox", ""}, {"GET", "/admin/audit", ""}}
	anon := p.client("")
	for _, r := range append(read, route{"POST", "/api/v1/admin/restores/" + id + "/confirm", ""},
		route{"POST", "/api/v1/admin/restores/" + id + "/reject", `{}`}) {
		code, _ := p.do(anon, r.method, r.path, r.body)
		want := http.StatusUnauthorized
		if strings.HasPrefix(r.path, "/admin") {
			want = http.StatusSeeOther
		}
		if code != want {
			t.Errorf("anonymous %s %s: %d, want %d", r.method, r.path, code, want)
		}
	}
	other := p.client("other@example.org")
	for _, r := range []route{{"GET", "/api/v1/admin/restores/" + id, ""}, {"GET", "/admin/restores/" + id, ""},
		{"POST", "/api/v1/admin/restores/" + id + "/confirm", ""}, {"POST", "/api/v1/admin/restores/" + id + "/reject", `{}`},
		{"POST", "/admin/restores/" + id + "/confirm", ""}, {"GET", "/api/v1/admin/restores/999", ""}} {
		if code, body := p.do(other, r.method, r.path, r.body); code != http.StatusNotFound {
			t.Errorf("other domain's admin %s %s: %d %s, want 404", r.method, r.path, code, body)
		}
	}
	if _, body := p.do(other, "GET", "/api/v1/admin/restores", ""); body != "[]\n" {
		t.Errorf("other domain's admin lists %s", body)
	}
	for _, email := range []string{"boss@example.com", "root@example.net"} {
		c := p.client(email)
		for _, r := range read {
			if code, body := p.do(c, r.method, r.path, r.body); code != http.StatusOK {
				t.Errorf("%s %s %s: %d %s", email, r.method, r.path, code, body)
			}
		}
		if _, body := p.do(c, "GET", "/api/v1/admin/restores?status=pending", ""); !strings.Contains(body, `"account":"alice@example.com"`) {
			t.Errorf("%s does not see alice's request: %s", email, body)
		}
	}
	// Decisions: one takes effect, the next is a conflict.
	boss := p.client("boss@example.com")
	if code, body := p.do(boss, "POST", "/api/v1/admin/restores/"+id+"/reject", `{"reason":"not now"}`); code != 200 ||
		!strings.Contains(body, `"status":"rejected"`) {
		t.Errorf("reject: %d %s", code, body)
	}
	if code, _ := p.do(boss, "POST", "/api/v1/admin/restores/"+id+"/confirm", ""); code != http.StatusConflict {
		t.Errorf("confirm after reject: %d, want 409", code)
	}
	// A removed admin's session ends at once.
	if code, _ := p.do(p.clientAfterRemoval(), "GET", "/api/v1/admin/restores", ""); code != http.StatusUnauthorized {
		t.Errorf("a removed admin's session still works: %d", code)
	}
}

// clientAfterRemoval logs in as a fresh admin, removes it, and returns its
// client.
func (p *panel) clientAfterRemoval() *http.Client {
	p.t.Helper()
	h, err := admin.Hash(pw, admin.Params{Memory: 1024, Time: 1, Threads: 1})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.cat.AddAdmin(context.Background(), catalog.AdminRow{Email: "temp@example.net", PasswordHash: h}); err != nil {
		p.t.Fatal(err)
	}
	c := p.client("temp@example.net")
	if err := p.cat.RemoveAdmin(context.Background(), "temp@example.net"); err != nil {
		p.t.Fatal(err)
	}
	return c
}

// TestLoginThrottle: after four failures the account waits, even with
// the right password; the answer never says which part was wrong.
func TestLoginThrottle(t *testing.T) {
	p := newPanel(t)
	c := p.client("")
	for i, tc := range []struct {
		email, pass string
		want        int
	}{
		{"nobody@example.com", pw, 401}, {"boss@example.com", "wrong", 401}, {"boss@example.com", "wrong", 401},
		{"boss@example.com", "wrong", 401}, {"boss@example.com", "wrong", 401}, {"boss@example.com", pw, 429},
	} {
		code, body := p.do(c, "POST", "/api/v1/admin/session", fmt.Sprintf(`{"email":%q,"password":%q}`, tc.email, tc.pass))
		if code != tc.want {
			t.Fatalf("attempt %d: %d %s, want %d", i, code, body, tc.want)
		}
		if code == 401 && !strings.Contains(body, "invalid email or password") {
			t.Errorf("attempt %d says %s", i, body)
		}
	}
	p.clk.Advance(2 * time.Second)
	if code, body := p.do(c, "POST", "/api/v1/admin/session", fmt.Sprintf(`{"email":"boss@example.com","password":%q}`, pw)); code != 200 {
		t.Errorf("after the delay: %d %s", code, body)
	}
	events, err := p.cat.AuditLog(context.Background(), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, e := range events {
		if e.Action == "admin-login-failed" {
			failed++
		}
	}
	if failed != 5 || events[0].Action != "admin-login" {
		t.Errorf("audit: %d failed logins recorded (want 5), newest %q", failed, events[0].Action)
	}
}

// TestCrossOriginRefused: a form post from another site is refused.
func TestCrossOriginRefused(t *testing.T) {
	p := newPanel(t)
	c := p.client("boss@example.com")
	req, err := http.NewRequest("POST", p.srv.URL+fmt.Sprintf("/admin/restores/%d/confirm", p.id), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() //nolint:errcheck // test
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if r, err := p.cat.Restore(context.Background(), p.id); err != nil || r.Status != catalog.RestorePending {
		t.Errorf("after the refused POST: %s %v", r.Status, err)
	}
}

// TestFormPages: log in with the form, see the request, reject it with a
// reason; the flash comes from a fixed list and the reason is escaped.
func TestFormPages(t *testing.T) {
	p := newPanel(t)
	c := p.client("")
	resp, err := c.PostForm(p.srv.URL+"/admin/login", url.Values{"email": {"boss@example.com"}, "password": {pw},
		"next": {"//evil.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() //nolint:errcheck // test
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/admin/restores" {
		t.Fatalf("form login: %d to %q, want 303 to /admin/restores", resp.StatusCode, loc)
	}
	_, page := p.do(c, "GET", fmt.Sprintf("/admin/restores/%d", p.id), "")
	for _, want := range []string{"alice@example.com", "Confirm and restore now", "Reject", "INBOX"} {
		if !strings.Contains(page, want) {
			t.Errorf("the request page lacks %q", want)
		}
	}
	resp, err = c.PostForm(p.srv.URL+fmt.Sprintf("/admin/restores/%d/reject", p.id), url.Values{"reason": {"<script>alert(1)</script>"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() //nolint:errcheck // test
	_, page = p.do(c, "GET", resp.Header.Get("Location"), "")
	if !strings.Contains(page, "Rejected: the user has been told.") || strings.Contains(page, "<script>alert") ||
		!strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("after rejecting, the page shows the flash and the escaped reason:\n%s", page)
	}
	if _, page := p.do(c, "GET", "/admin/restores?flash=<b>x</b>", ""); strings.Contains(page, "<b>x</b>") {
		t.Error("a flash from the URL was shown")
	}
}

// TestOutboxFollowsTheAccount: what an admin sees of the undelivered
// emails, and may send again, follows the account the email is about,
// not its recipient; the SMTP error (it names the mail server) is the
// operators'. Before, an admin of example.net saw the global admin's copy
// of a request of example.com, and every error in full.
func TestOutboxFollowsTheAccount(t *testing.T) {
	p := newPanel(t)
	ctx := context.Background()
	h, err := admin.Hash(pw, admin.Params{Memory: 1024, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cat.AddAdmin(ctx, catalog.AdminRow{Email: "net@example.net", PasswordHash: h, Domains: []string{"example.net"}}); err != nil {
		t.Fatal(err)
	}
	mail := func(key, to, account, subject string) int64 {
		t.Helper()
		if _, err := p.cat.EnqueueMail(ctx, catalog.OutboxMail{Key: key, Kind: "restore-requested", MessageID: key + "@mtm",
			From: "mtm@example.com", To: to, Account: account, Subject: subject, Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		list, err := p.cat.UndeliveredMail(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if e.Key == key {
				if _, err := p.cat.ClaimMail(ctx, e.ID, p.clk.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				if err := p.cat.FailMail(ctx, e.ID, "dial tcp 10.9.8.7:25: connection refused"); err != nil {
					t.Fatal(err)
				}
				return e.ID
			}
		}
		t.Fatalf("%s not in the outbox", key)
		return 0
	}
	aboutAlice := mail("a", "root@example.net", "alice@example.com", "Request about alice")
	aboutBob := mail("b", "other@example.org", "bob@example.org", "Request about bob")
	mail("c", "ops@example.net", "", "The night is late")
	for who, want := range map[string][]string{
		"boss@example.com":  {"Request about alice"},
		"other@example.org": {"Request about bob"},
		"net@example.net":   {},
		"root@example.net":  {"Request about alice", "Request about bob", "The night is late"},
	} {
		_, page := p.do(p.client(who), "GET", "/admin/outbox", "")
		for _, subject := range []string{"Request about alice", "Request about bob", "The night is late"} {
			if strings.Contains(page, subject) != slices.Contains(want, subject) {
				t.Errorf("%s sees %q: %v", who, subject, strings.Contains(page, subject))
			}
		}
		if global := who == "root@example.net"; strings.Contains(page, "10.9.8.7") != global ||
			len(want) > 0 && !global && !strings.Contains(page, "The mail server has not taken it yet.") {
			t.Errorf("%s: the SMTP error shown %v", who, strings.Contains(page, "10.9.8.7"))
		}
	}
	for who, id := range map[string]int64{"boss@example.com": aboutBob, "net@example.net": aboutAlice} {
		resp, err := p.client(who).PostForm(fmt.Sprintf("%s/admin/outbox/%d/requeue", p.srv.URL, id), url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() //nolint:errcheck // test
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s sent again an email about another domain: %d", who, resp.StatusCode)
		}
	}
}

// TestSecondFactorAPI: with the second factor required, the JSON API
// refuses an admin who has not set it up (403 setup_2fa); once set up, a
// login needs a right code, a code is spent once (a replay is refused,
// on the same step or an earlier one), a recovery code works once, and
// wrong codes are throttled like wrong passwords.
func TestSecondFactorAPI(t *testing.T) {
	p := newPanel(t)
	ctx := context.Background()
	s, err := New(Options{Catalog: p.cat, Clock: p.clk, BaseURL: "https://mtm.example.com", RequireSecondFactor: true,
		Flow: restoreflow.New(restoreflow.Options{Catalog: p.cat, Clock: p.clk})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	p.srv = srv
	login := func(code string) (int, string) {
		jar, _ := cookiejar.New(nil)
		return p.do(&http.Client{Jar: jar}, "POST", "/api/v1/admin/session",
			fmt.Sprintf(`{"email":"boss@example.com","password":%q,"code":%q}`, pw, code))
	}
	if code, body := login(""); code != http.StatusForbidden || !strings.Contains(body, `"code":"setup_2fa"`) {
		t.Fatalf("before set-up: %d %s", code, body)
	}
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	recovery := "ABCD-EFGH-JKLM"
	if err := p.cat.SetAdminTOTP(ctx, "boss@example.com", secret, 0,
		[][32]byte{sha256.Sum256([]byte(normalizeCode(recovery)))}); err != nil {
		t.Fatal(err)
	}
	now := func() string {
		c, err := totp.GenerateCode(secret, p.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if code, _ := login(""); code != http.StatusUnauthorized {
		t.Errorf("no code: %d", code)
	}
	c := now()
	if code, body := login(c); code != 200 {
		t.Fatalf("a right code: %d %s", code, body)
	}
	if code, _ := login(c); code != http.StatusUnauthorized {
		t.Errorf("the same code again (a replay): %d", code)
	}
	p.clk.Advance(30 * time.Second)
	old, _ := totp.GenerateCode(secret, p.clk.Now().Add(-60*time.Second))
	if code, _ := login(old); code != http.StatusUnauthorized {
		t.Errorf("an earlier step's code: %d", code)
	}
	if code, body := login(now()); code != 200 {
		t.Errorf("the next step's code: %d %s", code, body)
	}
	if code, _ := login(strings.ToLower(recovery)); code != 200 {
		t.Errorf("a recovery code, typed in lower case: %d", code)
	}
	if code, _ := login(recovery); code != http.StatusUnauthorized {
		t.Errorf("a spent recovery code: %d", code)
	}
	// Guessing codes with the password: the account's count (10 free,
	// then doubling delays) holds it back.
	throttled := false
	for range 12 {
		if code, _ := login("123456"); code == http.StatusTooManyRequests {
			throttled = true
		}
	}
	if !throttled {
		t.Error("wrong codes are not throttled")
	}
}

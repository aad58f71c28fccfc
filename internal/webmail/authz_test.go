package webmail

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/web"
)

// ids returns the entry ids of a folder of a snapshot, oldest first.
func (f *fixture) ids(s catalog.Snapshot, folder string) []int64 {
	f.t.Helper()
	fs, err := f.st.Cat.Folders(context.Background(), s)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, fo := range fs {
		if fo.Name == folder {
			ids, err := f.st.Cat.MessageOrder(context.Background(), s, fo.MailboxID, "date")
			if err != nil {
				f.t.Fatal(err)
			}
			return ids
		}
	}
	f.t.Fatalf("no folder %s", folder)
	return nil
}

// routes returns every GET route of the API for a message of a snapshot.
func routes(s catalog.Snapshot, mid int64) []string {
	m := fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", s.ID, mid)
	return []string{
		fmt.Sprintf("/api/v1/snapshots/%d/folders", s.ID),
		fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=INBOX", s.ID),
		fmt.Sprintf("/api/v1/snapshots/%d/messages?q=lunch", s.ID),
		m, m + "/raw", m + "/body", m + "/attachments/0",
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	f := newFixture(t)
	anon, alice, bob := f.anon(), f.login("alice@example.com", "alice-pw"), f.login("bob@example.com", "bob-pw")
	aliceMsg := f.ids(f.alice[1], "INBOX")[0] // the HTML message: has an attachment
	bobMsg := f.ids(f.bob, "INBOX")[0]

	type want struct{ anon, owner, other int }
	check := func(path string, owner, other *client, w want) {
		t.Helper()
		for _, c := range []struct {
			who  string
			cl   *client
			code int
		}{{"anonymous", anon, w.anon}, {"owner", owner, w.owner}, {"other", other, w.other}} {
			res, body := c.cl.do("GET", path, "")
			if res.StatusCode != c.code {
				t.Errorf("%s GET %s: %d, want %d (%.80s)", c.who, path, res.StatusCode, c.code, body)
			}
		}
	}
	for _, p := range routes(f.alice[1], aliceMsg) {
		check(p, alice, bob, want{401, 200, 404})
	}
	for _, p := range routes(f.bob, bobMsg) {
		if strings.Contains(p, "attachments/0") {
			continue // bob's message has none
		}
		check(p, bob, alice, want{401, 200, 404})
	}
	// Alice's snapshot with Bob's message id, and a message of another day.
	check(fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", f.alice[1].ID, bobMsg), alice, bob, want{401, 404, 404})
	gone := f.ids(f.alice[0], "INBOX")[1] // by date: the plain message, deleted before day 2
	check(fmt.Sprintf("/api/v1/snapshots/%d/messages/%d/raw", f.alice[1].ID, gone), alice, bob, want{401, 404, 404})
	check(fmt.Sprintf("/api/v1/snapshots/%d/messages/%d/raw", f.alice[0].ID, gone), alice, bob, want{401, 200, 404})
	check("/api/v1/snapshots", alice, bob, want{401, 200, 200})
	check("/api/v1/session", alice, bob, want{401, 200, 200})
	for _, p := range []string{"/api/v1/snapshots/999999/folders", "/api/v1/snapshots/x/folders",
		fmt.Sprintf("/api/v1/snapshots/%d/messages/999999", f.alice[1].ID), "/api/v1/nothing"} {
		if res, _ := alice.do("GET", p, ""); res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	// Bob's snapshot list does not name Alice's snapshots.
	if _, body := bob.do("GET", "/api/v1/snapshots", ""); strings.Contains(body, fmt.Sprintf(`"id":%d,`, f.alice[0].ID)) {
		t.Errorf("bob sees alice's snapshots: %s", body)
	}
	// Pages: the app needs a session, login and help do not.
	for path, w := range map[string]want{"/": {303, 200, 200}, "/help": {200, 200, 200}, "/login": {200, 303, 303}} {
		check(path, alice, bob, w)
	}
}

func TestAccountWithoutBackups(t *testing.T) {
	f := newFixture(t)
	c := f.login("nobackup@example.com", "pw")
	if _, body := c.do("GET", "/api/v1/snapshots", ""); strings.TrimSpace(body) != "[]" {
		t.Errorf("snapshots: %s", body)
	}
	if res, _ := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/folders", f.alice[0].ID), ""); res.StatusCode != 404 {
		t.Errorf("another account's snapshot: %d", res.StatusCode)
	}
}

func TestLoginCookieAndLogout(t *testing.T) {
	f := newFixture(t)
	c := f.anon()
	res, _ := c.do("POST", "/api/v1/session", `{"email":" Alice@Example.com ","password":"alice-pw"}`)
	if res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	sc := res.Header.Get("Set-Cookie")
	for _, want := range []string{"mtm_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("cookie over plain http is Secure: %q", sc)
	}
	if _, body := c.do("GET", "/api/v1/session", ""); !strings.Contains(body, `"alice@example.com"`) {
		t.Errorf("session: %s", body)
	}
	if res, _ := c.do("DELETE", "/api/v1/session", ""); res.StatusCode != 204 {
		t.Errorf("logout: %d", res.StatusCode)
	}
	if res, _ := c.do("GET", "/api/v1/snapshots", ""); res.StatusCode != 401 {
		t.Errorf("after logout: %d", res.StatusCode)
	}
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	f := newFixture(t)
	srv, err := New(Options{Catalog: f.st.Cat, Blobs: f.st.Blobs, Verifier: f.verifier, Clock: f.st.Clock,
		BaseURL: "https://mail-backup.example"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptestRecorder(srv, "POST", "/api/v1/session", `{"email":"alice@example.com","password":"alice-pw"}`,
		"Content-Type", "application/json", "Origin", "https://mail-backup.example")
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Set-Cookie"), "Secure") {
		t.Errorf("login over https: %d %q", rec.Code, rec.Header().Get("Set-Cookie"))
	}
}

func TestFailedLoginsAreGenericAndThrottled(t *testing.T) {
	f := newFixture(t)
	c := f.anon()
	try := func(email, pw string) (*http.Response, string) {
		return c.do("POST", "/api/v1/session", fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw))
	}
	var bodies []string
	for _, cr := range [][2]string{{"alice@example.com", "wrong"}, {"nobody@example.com", "alice-pw"},
		{"alice@example.com*backup", "alice-pw"}} {
		res, body := try(cr[0], cr[1])
		if res.StatusCode != 401 {
			t.Errorf("%v: %d", cr, res.StatusCode)
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("failures differ: %q", bodies)
	}
	calls := f.verifier.calls
	if calls != 2 {
		t.Errorf("the IMAP server was asked %d times; the master-user form must not reach it", calls)
	}
	// One failure so far for alice@example.com (the master-user form is
	// another name); three more make four, past the free three: locked
	// for a second.
	for i := 0; i < 3; i++ {
		if res, _ := try("alice@example.com", "wrong"); res.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i+2, res.StatusCode)
		}
	}
	res, body := try("alice@example.com", "alice-pw")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("locked account: %d %s", res.StatusCode, body)
	}
	if f.verifier.calls != calls+3 {
		t.Errorf("a locked login reached the IMAP server")
	}
	f.st.Clock.Advance(time.Second)
	if res, _ := try("alice@example.com", "wrong"); res.StatusCode != 401 {
		t.Errorf("after the delay: %d", res.StatusCode)
	}
	res, _ = try("alice@example.com", "alice-pw")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" {
		t.Errorf("the delay does not double: %d %s", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	login := `{"email":"alice@example.com","password":"alice-pw"}`
	cases := []struct {
		name, method, body string
		hdr                []string
		code               int
	}{
		{"cross-site login", "POST", login, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"foreign origin login", "POST", login, []string{"Sec-Fetch-Site", "", "Origin", "http://evil.example"}, 403},
		{"cross-site logout", "DELETE", "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"form-encoded login", "POST", "email=alice@example.com", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
	}
	for _, cs := range cases {
		path := "/api/v1/session"
		res, body := c.do(cs.method, path, cs.body, cs.hdr...)
		if res.StatusCode != cs.code {
			t.Errorf("%s: %d, want %d (%s)", cs.name, res.StatusCode, cs.code, body)
		}
	}
	if res, _ := c.do("GET", "/api/v1/snapshots", ""); res.StatusCode != 200 {
		t.Errorf("the refused cross-site logout ended the session: %d", res.StatusCode)
	}
}

func TestSessionsExpireOnTheClock(t *testing.T) {
	f := newFixture(t)
	idle := f.login("alice@example.com", "alice-pw")
	busy := f.login("alice@example.com", "alice-pw")
	for elapsed := time.Duration(0); elapsed < 11*time.Hour; elapsed += 20 * time.Minute {
		if res, _ := busy.do("GET", "/api/v1/snapshots", ""); res.StatusCode != 200 {
			t.Fatalf("busy session ended after %v", elapsed)
		}
		f.st.Clock.Advance(20 * time.Minute)
	}
	if res, _ := idle.do("GET", "/api/v1/snapshots", ""); res.StatusCode != 401 {
		t.Errorf("idle session: %d", res.StatusCode)
	}
	f.st.Clock.Advance(time.Hour + time.Minute)
	if res, _ := busy.do("GET", "/api/v1/snapshots", ""); res.StatusCode != 401 {
		t.Errorf("session older than 12 h: %d", res.StatusCode)
	}
}

// TestSnapshotByDay: a snapshot is named by its id or by its day, as
// everywhere in mtm; a day resolves within the session's own account only.
func TestSnapshotByDay(t *testing.T) {
	f := newFixture(t)
	alice := f.login("alice@example.com", "alice-pw")
	byID, idBody := alice.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/folders", f.alice[1].ID), "")
	byDay, dayBody := alice.do("GET", "/api/v1/snapshots/"+f.alice[1].Day+"/folders", "")
	if byID.StatusCode != 200 || byDay.StatusCode != 200 || idBody != dayBody {
		t.Errorf("folders by id (%d) and by day %s (%d) differ:\n%s\n%s", byID.StatusCode, f.alice[1].Day,
			byDay.StatusCode, idBody, dayBody)
	}
	for _, p := range []string{"/api/v1/snapshots/1999-01-01/folders", "/api/v1/snapshots/-1/folders",
		"/api/v1/snapshots/2026-13-01/folders"} {
		if res, _ := alice.do("GET", p, ""); res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	if f.bob.Day == f.alice[1].Day {
		t.Fatal("the fixture's bob has a snapshot on alice's second day")
	}
	bob := f.login("bob@example.com", "bob-pw")
	if res, _ := bob.do("GET", "/api/v1/snapshots/"+f.alice[1].Day+"/folders", ""); res.StatusCode != 404 {
		t.Errorf("bob, who has no snapshot on %s, reads that day: %d", f.alice[1].Day, res.StatusCode)
	}
}

// TestGuessesCannotLockTheUserOut: wrong passwords for alice from ever new
// addresses slow every new browser's attempts at her account (it answers
// 429 and says how long to wait), but the browser she logged in from
// before logs in at once, from any address: a guesser cannot lock her out
// of her own backup. Before, nine guesses locked her out, and one every
// 15 minutes kept her out.
func TestGuessesCannotLockTheUserOut(t *testing.T) {
	f := newFixture(t)
	srv, err := New(Options{Catalog: f.st.Cat.Browser(), Blobs: f.st.Blobs, Verifier: f.verifier, Clock: f.st.Clock,
		MasterSeparator: "*", ClientIP: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	f.ts = ts
	login := func(c *client, from, pw string) (*http.Response, string) {
		return c.do("POST", "/api/v1/session", `{"email":"alice@example.com","password":"`+pw+`"}`, "X-Test-Client", from)
	}
	alice := f.anon()
	if res, body := login(alice, "192.0.2.1", "alice-pw"); res.StatusCode != 200 {
		t.Fatalf("alice's first login: %d %s", res.StatusCode, body)
	}
	locked := 0
	for i := range 40 {
		res, _ := login(f.anon(), fmt.Sprintf("198.51.100.%d", i), "guess")
		switch res.StatusCode {
		case 401:
		case 429:
			locked++
		default:
			t.Fatalf("guess %d: %d", i, res.StatusCode)
		}
		f.st.Clock.Advance(time.Second)
	}
	if locked == 0 {
		t.Fatal("40 guesses from 40 addresses were never slowed down")
	}
	for _, from := range []string{"192.0.2.1", "203.0.113.7"} {
		if res, body := login(alice, from, "alice-pw"); res.StatusCode != 200 {
			t.Errorf("alice's own browser, from %s, while others guess: %d %s", from, res.StatusCode, body)
		}
	}
	res, body := login(f.anon(), "203.0.113.8", "alice-pw")
	e := decode[map[string]string](t, body)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || e["code"] != "throttled" ||
		!strings.HasPrefix(e["error"], "Too many attempts. Try again in ") {
		t.Errorf("a new browser while the account is guessed at: %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	// Nor does one guess every 15 minutes keep her browser out.
	for range 4 {
		f.st.Clock.Advance(15 * time.Minute)
		login(f.anon(), "198.51.100.200", "guess")
		if res, body := login(alice, "192.0.2.1", "alice-pw"); res.StatusCode != 200 {
			t.Errorf("alice's browser, a guess every 15 minutes: %d %s", res.StatusCode, body)
		}
	}
}

// TestForwardedHTTPSFromATrustedProxy: behind a trusted proxy that says
// the client came over HTTPS (X-Forwarded-Proto: https), with no https
// base_url, the session and device cookies are Secure and the answer
// carries HSTS; the same header from anyone else changes nothing (before,
// it was ignored from the trusted proxy too).
func TestForwardedHTTPSFromATrustedProxy(t *testing.T) {
	f := newFixture(t)
	proxies := web.NewProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	for _, trusted := range []bool{true, false} {
		isHTTPS := proxies.IsHTTPS
		if !trusted {
			isHTTPS = web.NewProxies(nil).IsHTTPS
		}
		srv, err := New(Options{Catalog: f.st.Cat, Blobs: f.st.Blobs, Verifier: f.verifier, Clock: f.st.Clock, IsHTTPS: isHTTPS})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/session", strings.NewReader(`{"email":"alice@example.com","password":"alice-pw"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-Proto", "https")
		res, err := http.DefaultClient.Do(req)
		ts.Close()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close() //nolint:errcheck // test
		secure := len(res.Cookies()) == 2
		for _, c := range res.Cookies() {
			secure = secure && c.Secure
		}
		if res.StatusCode != 200 || secure != trusted || (res.Header.Get("Strict-Transport-Security") != "") != trusted {
			t.Errorf("trusted proxy %v: %d, cookies %v, HSTS %q", trusted, res.StatusCode, res.Cookies(), res.Header.Get("Strict-Transport-Security"))
		}
	}
}

package webauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/web"
)

// TestGate: attempts are throttled before the check runs, bad credentials
// count, good ones clear the account; a session's cookie follows the
// interface's settings and ends with End. The same with the sessions and
// failures kept in memory and in the catalog, where a second gate (another
// web node) sees the first's session and throttling.
func TestGate(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "catalog"}[shared], func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var cat catalog.WebSessions
			if shared {
				db, err := catalog.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"),
					catalog.Options{Clock: clk})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = db.Close() })
				cat = db
			}
			testGate(t, clk, cat)
		})
	}
}

func testGate(t *testing.T, clk *clock.Fake, shared catalog.WebSessions) {
	guard, err := web.NewGuard("https://mtm.example.com/", web.Headers{CSP: "default-src 'none'", FrameOptions: "DENY"})
	if err != nil {
		t.Fatal(err)
	}
	opts := GateOptions{Clock: clk, Cookie: "c", SameSite: http.SameSiteStrictMode, Guard: guard,
		Throttle: ThrottleOptions{FreePair: 1, FreeAccount: 1, FreeClient: 100}, Shared: shared, Realm: "webmail",
		DeviceKey: []byte("a key shared by every node of the cluster")}
	g := NewGate(opts)
	login := func(cookies ...*http.Cookie) *http.Request {
		r := httptest.NewRequest("POST", "/login", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return r
	}
	checks := 0
	bad := func() error { checks++; return ErrBadCredentials }
	if err := g.Attempt(login(), "a", "1.2.3.4", bad); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("first bad attempt: %v", err)
	}
	if err := g.Attempt(login(), "a", "1.2.3.4", bad); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("second bad attempt: %v", err)
	}
	var th ThrottledError
	if err := g.Attempt(login(), "a", "5.6.7.8", bad); !errors.As(err, &th) || !errors.Is(err, ErrThrottled) || th.Wait != time.Second {
		t.Fatalf("third attempt, from elsewhere: %v, want throttled for 1s (the account's count)", err)
	}
	if checks != 2 {
		t.Errorf("the check ran %d times, want 2 (never while throttled)", checks)
	}
	clk.Advance(time.Second)
	if err := g.Attempt(login(), "a", "1.2.3.4", func() error { return nil }); err != nil {
		t.Fatalf("good attempt after the wait: %v", err)
	}
	rec := httptest.NewRecorder()
	if _, err := g.Start(rec, httptest.NewRequest("POST", "/login", nil), "a"); err != nil {
		t.Fatal(err)
	}
	var device *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "c_device" {
			device = c
		}
	}
	if device == nil || !device.HttpOnly || !device.Secure || device.MaxAge < 89*24*3600 {
		t.Fatalf("no device cookie after a login: %+v", rec.Result().Cookies())
	}
	if err := g.Attempt(login(), "a", "1.2.3.4", bad); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("after a success the address starts again at the account: %v", err)
	}
	// The account is locked again (3 failures); a browser without its
	// device cookie waits, the one with it does not.
	if err := g.Attempt(login(), "a", "7.7.7.7", bad); !errors.Is(err, ErrThrottled) {
		t.Errorf("a new browser while the account is guessed at: %v", err)
	}
	if err := g.Attempt(login(device), "a", "7.7.7.7", func() error { return nil }); err != nil {
		t.Errorf("the browser that logged in before is kept out: %v", err)
	}
	down := errors.New("imap down")
	if err := g.Attempt(login(), "b", "1.2.3.4", func() error { return down }); !errors.Is(err, down) {
		t.Errorf("an unanswered check: %v", err)
	}
	if err := g.Attempt(login(), "b", "1.2.3.4", func() error { return down }); !errors.Is(err, down) {
		t.Errorf("an unanswered check counted as a failure: %v", err)
	}

	rec = httptest.NewRecorder()
	ses, err := g.Start(rec, httptest.NewRequest("POST", "/login", nil), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 2 || cookies[0].Name != "c" || cookies[0].Value != ses.ID || !cookies[0].HttpOnly ||
		!cookies[0].Secure || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie: %+v", cookies)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookies[0])
	if got, ok := g.Session(req); !ok || got.Account != "alice@example.com" {
		t.Fatalf("session of the cookie: %+v %v", got, ok)
	}
	if shared != nil {
		other := NewGate(opts) // another web node on the same catalog
		if got, ok := other.Session(req); !ok || got.Account != "alice@example.com" {
			t.Errorf("the other node does not know the session: %+v %v", got, ok)
		}
		// The account failed once through g; once more through the other
		// node passes its allowance, and g holds it back.
		clk.Advance(time.Hour)
		if err := other.Attempt(login(device), "a", "9.9.9.9", bad); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("a second failure through the other node: %v", err)
		}
		if err := g.Attempt(login(), "a", "1.2.3.4", bad); !errors.Is(err, ErrThrottled) {
			t.Errorf("failures through two nodes do not add up: %v", err)
		}
		clk.Advance(31 * time.Minute)
		if _, ok := other.Session(req); ok {
			t.Error("a session idle for 31 minutes is alive")
		}
		return
	}
	rec = httptest.NewRecorder()
	g.End(rec, req)
	if _, ok := g.Session(req); ok {
		t.Error("session alive after End")
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("End did not clear the cookie: %+v", c)
	}
}

package webauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"mtm/internal/clock"
	"mtm/internal/web"
)

// TestGate: attempts are throttled before the check runs, bad credentials
// count, good ones clear the account; a session's cookie follows the
// interface's settings and ends with End.
func TestGate(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	guard, err := web.NewGuard("https://mtm.example.com/", web.Headers{CSP: "default-src 'none'", FrameOptions: "DENY"})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGate(GateOptions{Clock: clk, Cookie: "c", SameSite: http.SameSiteStrictMode, Guard: guard,
		Throttle: ThrottleOptions{FreeAccount: 1, FreeClient: 100}})
	checks := 0
	bad := func() error { checks++; return ErrBadCredentials }
	if err := g.Attempt("a", "1.2.3.4", bad); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("first bad attempt: %v", err)
	}
	if err := g.Attempt("a", "1.2.3.4", bad); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("second bad attempt: %v", err)
	}
	var th ThrottledError
	if err := g.Attempt("a", "5.6.7.8", bad); !errors.As(err, &th) || !errors.Is(err, ErrThrottled) || th.Wait != time.Second {
		t.Fatalf("third attempt: %v, want throttled for 1s", err)
	}
	if checks != 2 {
		t.Errorf("the check ran %d times, want 2 (never while throttled)", checks)
	}
	clk.Advance(time.Second)
	if err := g.Attempt("a", "1.2.3.4", func() error { return nil }); err != nil {
		t.Fatalf("good attempt after the wait: %v", err)
	}
	if err := g.Attempt("a", "1.2.3.4", bad); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("after a success the account starts again: %v", err)
	}
	down := errors.New("imap down")
	if err := g.Attempt("b", "1.2.3.4", func() error { return down }); !errors.Is(err, down) {
		t.Errorf("an unanswered check: %v", err)
	}
	if err := g.Attempt("b", "1.2.3.4", func() error { return down }); !errors.Is(err, down) {
		t.Errorf("an unanswered check counted as a failure: %v", err)
	}

	rec := httptest.NewRecorder()
	ses := g.Start(rec, httptest.NewRequest("POST", "/login", nil), "alice@example.com")
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "c" || cookies[0].Value != ses.ID || !cookies[0].HttpOnly ||
		!cookies[0].Secure || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie: %+v", cookies)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookies[0])
	if got, ok := g.Session(req); !ok || got.Account != "alice@example.com" {
		t.Fatalf("session of the cookie: %+v %v", got, ok)
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

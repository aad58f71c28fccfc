package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestAdminSecondFactorInBrowser: with [admin] require_second_factor, an
// admin's first login sets up a TOTP second factor (the page shows the
// secret as a QR code and as text; a code from it proves it) and shows
// ten recovery codes once; the JSON API then refuses a login without a
// code; confirming the restore of a whole account asks again for the
// password (refused without it, done with it); a later login takes a
// recovery code, which works once.
func TestAdminSecondFactorInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and chromium")
	}
	ctx, watch := browse(t, t.TempDir())
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	e.env = append(e.env, "MTM_ADMIN_REQUIRE_SECOND_FACTOR=true")
	smtp := withSMTP(t, e)
	e.dc.Append(t, alice, "INBOX", []byte("Subject: keep me\r\n\r\nhello\r\n"), nil, time.Time{})
	e.mustMTM("snapshot")
	snap := e.snapshots(alice)[0]
	s := serveE2E(t, e, smtp)
	user := s.client(t)
	if code := user.do("POST", "/api/v1/session", map[string]string{"email": alice, "password": "pw-" + alice}, nil); code != 200 {
		t.Fatalf("user login: %d", code)
	}
	var req struct{ ID int64 }
	if code := user.do("POST", "/api/v1/restores", map[string]any{"snapshot": snap.ID}, &req); code != 201 {
		t.Fatalf("a whole account's restore request: %d", code)
	}
	// The JSON API: no second factor set up yet, no session.
	api := s.client(t)
	if code := api.do("POST", "/api/v1/admin/session", map[string]string{"email": "boss@example.com", "password": adminPassword}, nil); code != 403 {
		t.Errorf("an API login before the second factor is set up: %d, want 403", code)
	}

	do(t, ctx, "the admin login", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(s.base+"/admin/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "boss@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword+"\n"))
	waitPage(t, ctx, "the set-up page", `document.getElementById("secret") !== null && document.querySelector("img[src^='data:image/png']") !== null`)
	secret, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("secret").textContent`))
	if err != nil || len(secret) < 16 {
		t.Fatalf("the secret: %q %v", secret, err)
	}
	do(t, ctx, "a wrong code", chromedp.SendKeys(chromedp.ID("code"), "000000\n"))
	waitPage(t, ctx, "refused, the same secret", `document.body.textContent.includes("That code is wrong") &&
		document.getElementById("secret").textContent === `+jsQuote(secret))
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "the app's code", chromedp.SendKeys(chromedp.ID("code"), code+"\n"))
	waitPage(t, ctx, "the recovery codes", `document.querySelectorAll("#recovery code").length === 10`)
	recovery, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#recovery code").textContent`))
	if err != nil || len(recovery) != 14 {
		t.Fatalf("a recovery code: %q %v", recovery, err)
	}
	do(t, ctx, "continue", chromedp.Click(chromedp.ID("continue")))
	waitPage(t, ctx, "the requests", `location.pathname === "/admin/restores"`)

	// A whole account: the confirmation asks again for the password.
	do(t, ctx, "the request", chromedp.Navigate(s.base+"/admin/restores/"+itoa(req.ID)))
	waitPage(t, ctx, "its page", `document.getElementById("reauth") !== null`)
	do(t, ctx, "confirm without the password", chromedp.Evaluate[chromedp.Void](`document.getElementById("reauth").form.submit()`))
	waitPage(t, ctx, "asked again", `document.body.textContent.includes("confirmed with your password or a code") &&
		document.body.textContent.includes("Confirm and restore now")`)
	do(t, ctx, "confirm with it", chromedp.SendKeys(chromedp.ID("reauth"), adminPassword),
		chromedp.Click(chromedp.CSS(`button.primary`)))
	waitPage(t, ctx, "confirmed", `document.body.textContent.includes("Confirmed")`)

	// Later logins take a code: here a recovery code, which works once.
	do(t, ctx, "log out", chromedp.Evaluate[chromedp.Void](`document.querySelector("form[action='/admin/logout']").submit()`))
	waitPage(t, ctx, "the login page", `document.querySelector("input[name=email]") !== null`)
	for i, want := range []string{"/admin/restores", "That code is wrong"} {
		do(t, ctx, "log in", chromedp.Navigate(s.base+"/admin/login"), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "boss@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword+"\n"))
		waitPage(t, ctx, "the code page", `document.getElementById("code") !== null && document.getElementById("secret") === null`)
		do(t, ctx, "the recovery code", chromedp.SendKeys(chromedp.ID("code"), recovery+"\n"))
		if i == 0 {
			waitPage(t, ctx, "in", `location.pathname === `+jsQuote(want))
			do(t, ctx, "log out", chromedp.Evaluate[chromedp.Void](`document.querySelector("form[action='/admin/logout']").submit()`))
			waitPage(t, ctx, "out", `document.querySelector("input[name=email]") !== null`)
		} else {
			waitPage(t, ctx, "a spent recovery code", `document.body.textContent.includes(`+jsQuote(want)+`)`)
		}
	}
	if !strings.Contains(string(waitMail(t, smtp, alice, 2)[1].Data), "is done") {
		t.Error("the restore confirmed with the password did not run")
	}
	watch.check(t)
}

// jsQuote is s as a JavaScript string literal.
func jsQuote(s string) string { return strconv.Quote(s) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

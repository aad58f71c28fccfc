package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"mtm/internal/demo"
)

// TestScreenshots takes the README's screenshots of `mtm demo`: the login
// page, the mailbox with a message open, the Changes view, the phone
// layout and the admin panel, in English and Italian, light and dark. It
// runs only when MTMTEST_SCREENSHOTS names the directory to write them to
// (scripts/screenshots.sh).
func TestScreenshots(t *testing.T) {
	out := os.Getenv("MTMTEST_SCREENSHOTS")
	if out == "" {
		t.Skip("MTMTEST_SCREENSHOTS is not set")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, _ := browse(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "demo")
	dctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	env := &environment{stdout: &stdout, stderr: &stderr, getenv: []string{"TZ=Europe/Rome"}}
	done := make(chan int, 1)
	go func() {
		done <- run(dctx, env, []string{"demo", "--data", dir, "--listen", "127.0.0.1:0", "--messages", "600"})
	}()
	webmail, _ := waitForBanner(t, &stdout, &stderr, done)
	user := demo.Accounts()[0]
	// JPEG at quality 82 keeps the repository small; MTMTEST_SCREENSHOTS_PNG=1
	// takes lossless PNGs instead.
	quality, ext := 82, ".jpg"
	if os.Getenv("MTMTEST_SCREENSHOTS_PNG") == "1" {
		quality, ext = 100, ".png"
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(quality))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loggedIn := false
	for _, lang := range []string{"en", "it"} {
		for _, scheme := range []string{"light", "dark"} {
			suffix := "-" + lang + "-" + scheme
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
				t.Fatal(err)
			}
			do(t, ctx, "desktop", chromedp.EmulateViewport(1400, 900))
			if !loggedIn {
				do(t, ctx, "login page", chromedp.Navigate(webmail+"login?lang="+lang), chromedp.WaitVisible(chromedp.ID("email")))
				shot("login" + suffix)
				do(t, ctx, "login", chromedp.SendKeys(chromedp.ID("email"), user.Addr),
					chromedp.SendKeys(chromedp.ID("password"), user.Password+"\n"))
				waitPage(t, ctx, "logged in", `location.pathname === "/" && document.querySelectorAll("#rows tr").length > 0`)
				loggedIn = true
			}
			do(t, ctx, "the mailbox", chromedp.Navigate(webmail+"?lang="+lang))
			waitPage(t, ctx, "the list", `document.querySelectorAll("#rows tr").length > 5`)
			do(t, ctx, "a message", chromedp.Click(chromedp.CSS(`#rows tr:nth-child(2) td.subject`)))
			waitJS(t, ctx, "it opens", `document.querySelector("#rhead h2") !== null`)
			shot("mailbox" + suffix)
			do(t, ctx, "what changed", chromedp.Click(chromedp.ID("changesbtn")))
			waitJS(t, ctx, "the changes", `document.querySelectorAll("#chrows tr").length > 0`)
			do(t, ctx, "the deleted folder selected", chromedp.Click(chromedp.CSS(`#chfolders li.fchange.deleted input.pickgroup`)))
			waitJS(t, ctx, "selected", `!document.getElementById("chsel").hidden`)
			shot("changes" + suffix)
			do(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(webmail))
			waitPage(t, ctx, "the list", `document.querySelectorAll("#rows tr").length > 5`)
			shot("phone" + suffix)
			do(t, ctx, "the admin panel", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(webmail+"admin/backups?lang="+lang))
			waitPage(t, ctx, "the panel", `document.querySelector("input[name=email]") !== null || document.querySelector("table") !== null`)
			if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("input[name=email]") !== null`)); ok {
				do(t, ctx, "admin login", chromedp.SendKeys(chromedp.CSS(`input[name=email]`), demoAdmin),
					chromedp.SendKeys(chromedp.CSS(`input[name=password]`), demoAdminPassword+"\n"))
				waitPage(t, ctx, "the panel", `document.querySelector("nav") !== null`)
				do(t, ctx, "backups", chromedp.Navigate(webmail+"admin/backups"))
			}
			waitPage(t, ctx, "the backups", `document.querySelector("table") !== null`)
			shot("admin" + suffix)
		}
	}
	cancel()
	<-done
}

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"
)

// TestRestoreInBrowser: in chromium, the user picks the day, asks to
// restore a deleted folder, sees the preview and sends the request; the
// admin logs in to the panel, opens the request from the list and
// confirms it; the folder is back in Dovecot, byte for byte, and the
// user's request shows as done.
func TestRestoreInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and chromium")
	}
	ctx, watch := browse(t, t.TempDir())
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	smtp := withSMTP(t, e)
	for i := range 12 {
		e.dc.Append(t, alice, "Reisen/Japan 日本", []byte(fmt.Sprintf("Subject: Reise %d\r\nMessage-ID: <r%d@x>\r\n\r\nTokyo %d\r\n", i, i, i)),
			[]imap.Flag{imap.FlagSeen}, time.Time{})
	}
	e.dc.Append(t, alice, "INBOX", []byte("Subject: hello\r\n\r\nhi\r\n"), nil, time.Time{})
	backup := e.liveMeta(alice, "Reisen/Japan 日本")
	e.mustMTM("snapshot")
	if err := e.dc.Dial(t, alice).Delete("Reisen/Japan 日本").Wait(); err != nil {
		t.Fatal(err)
	}
	s := serveE2E(t, e, smtp)

	do(t, ctx, "user login", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), alice), chromedp.SendKeys(chromedp.ID("password"), "pw-"+alice+"\n"),
		chromedp.WaitVisible(chromedp.ID("when")))
	waitJS(t, ctx, "the folders of the day", `document.querySelector('button.folder[data-name="Reisen/Japan 日本"]') !== null`)
	do(t, ctx, "open the restore dialog", chromedp.Click(chromedp.ID("restorebtn")))
	waitJS(t, ctx, "the dialog", `document.getElementById("restore").open`)
	do(t, ctx, "choose the folder", chromedp.Click(chromedp.CSS(`input[name=scope][value=some]`)),
		chromedp.Click(chromedp.CSS(`#restorefolders input[value="Reisen/Japan 日本"]`)),
		chromedp.Click(chromedp.ID("restorepreview")))
	waitJS(t, ctx, "the preview", `document.getElementById("restoreresult").textContent.includes("12 messages would come back")`)
	do(t, ctx, "send the request", chromedp.Click(chromedp.ID("restoresend")))
	waitJS(t, ctx, "the confirmation", `document.getElementById("restoreresult").textContent.includes("sent")`)
	waitJS(t, ctx, "my request listed", `document.getElementById("myrestores").textContent.includes("waiting for your administrator")`)
	waitMail(t, smtp, "boss@example.com", 1)

	do(t, ctx, "admin login", chromedp.Navigate(s.base+"/admin"), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "boss@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword+"\n"))
	waitPage(t, ctx, "the request list", `document.body.textContent.includes("alice@example.com") && document.querySelector("a[href^='/admin/restores/']") !== null`)
	do(t, ctx, "open the request", chromedp.Click(chromedp.CSS(`a[href^='/admin/restores/']`)))
	waitPage(t, ctx, "the request page", `document.body.textContent.includes("Reisen/Japan 日本") && document.body.textContent.includes("Confirm and restore now")`)
	do(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`button.primary`)))
	waitPage(t, ctx, "the result", `document.body.textContent.includes("12 messages restored")`)

	if got := e.liveMeta(alice, "Reisen/Japan 日本"); !equalMeta(got, backup) {
		t.Errorf("the folder after the restore differs from the backup")
	}
	userMail := waitMail(t, smtp, alice, 2) // the receipt, then the outcome
	if !strings.Contains(string(userMail[0].Data), "We received your request") ||
		!strings.Contains(string(userMail[1].Data), "Reisen/Japan") || !strings.Contains(string(userMail[1].Data), "is done") {
		t.Errorf("the user's emails are not the receipt and the outcome naming the folder")
	}
	do(t, ctx, "back to the webmail", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("when")),
		chromedp.Click(chromedp.ID("restorebtn")))
	waitJS(t, ctx, "the request done", `document.getElementById("myrestores").textContent.includes("done")`)
	watch.check(t)
}

// waitPage waits until the expression is true on a page that may be
// navigating or reloading itself (the admin panel refreshes while a
// restore runs).
func waitPage(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { try { return !!("+expr+") } catch (e) { return false } })()"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v\n%s", what, err, pageState(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mtm/internal/demo"
)

// TestDemoInBrowser is a first-time visitor of `mtm demo` in chromium: the
// login page loads, the user sees 15 days, picks the last day that still
// had the folder deleted by mistake, asks to restore it; the admin confirms
// in the panel; both emails, to the admin and to the user, show up on the
// demo's outbox page.
func TestDemoInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and chromium")
	}
	ctx, watch := browse(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "demo")
	dctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: []string{"TZ=Europe/Rome"}}
	done := make(chan int, 1)
	go func() {
		done <- run(dctx, env, []string{"demo", "--data", dir, "--listen", "127.0.0.1:0", "--messages", "150"})
	}()
	webmail, outbox := waitForBanner(t, &out, &errOut, done)
	user := demo.Accounts()[0]

	do(t, ctx, "login page", chromedp.Navigate(webmail), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), user.Addr), chromedp.SendKeys(chromedp.ID("password"), user.Password+"\n"),
		chromedp.WaitVisible(chromedp.ID("when")))
	waitJS(t, ctx, "fifteen days", `document.getElementById("day").options.length === 15`)
	// The day the trip folder was deleted by mistake says so in the picker.
	waitJS(t, ctx, "the bad day marked", `[...document.getElementById("day").options].some((o) =>
		Number(o.dataset.vanished) > 0 && o.textContent.endsWith(o.dataset.vanished + " deleted"))`)
	// What changed over the fifteen days says the trip folder went.
	do(t, ctx, "what changed", chromedp.Click(chromedp.ID("changesbtn")))
	waitJS(t, ctx, "the deleted trip folder", fmt.Sprintf(`document.getElementById("chsummary").textContent.includes("1 folder deleted") &&
		[...document.querySelectorAll("#chfolders li.fchange.deleted")].some((li) => li.dataset.folder === %q)`, demo.TripFolder))
	do(t, ctx, "back to the mailbox", chromedp.Click(chromedp.ID("chclose")))
	// The newest day whose folders include the trip folder.
	find := fmt.Sprintf(`(async () => {
		const snaps = await (await fetch("/api/v1/snapshots")).json();
		for (const s of snaps) {
			const f = await (await fetch("/api/v1/snapshots/" + s.id + "/folders")).json();
			if (f.some((x) => x.name === %q)) return String(s.id);
		}
		return "";
	})()`, demo.TripFolder)
	sid, err := chromedp.Run(ctx, chromedp.Evaluate[string](find, chromedp.EvalAwaitPromise))
	if err != nil || sid == "" {
		t.Fatalf("no day holds %s (%v)", demo.TripFolder, err)
	}
	do(t, ctx, "pick that day", chromedp.SetValue(chromedp.ID("day"), sid),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("day").dispatchEvent(new Event("change"))`))
	waitJS(t, ctx, "its folders", fmt.Sprintf(`document.querySelector('button.folder[data-name=%q]') !== null`, demo.TripFolder))
	do(t, ctx, "ask to restore the folder", chromedp.Click(chromedp.ID("restorebtn")),
		chromedp.Click(chromedp.CSS(`input[name=scope][value=some]`)),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#restorefolders input[value=%q]`, demo.TripFolder))),
		chromedp.Click(chromedp.ID("restorepreview")))
	waitJS(t, ctx, "the preview", `document.getElementById("restoreresult").textContent.includes("would come back")`)
	do(t, ctx, "send", chromedp.Click(chromedp.ID("restoresend")))
	waitJS(t, ctx, "sent", `document.getElementById("restoreresult").textContent.includes("sent")`)

	do(t, ctx, "admin login", chromedp.Navigate(webmail+"admin"), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), demoAdmin),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), demoAdminPassword+"\n"))
	waitPage(t, ctx, "the request list", `document.querySelector("a[href^='/admin/restores/']") !== null`)
	do(t, ctx, "open the request", chromedp.Click(chromedp.CSS(`a[href^='/admin/restores/']`)))
	waitPage(t, ctx, "the request", `document.body.textContent.includes("Confirm and restore now")`)
	do(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`button.primary`)))
	waitPage(t, ctx, "done", `document.body.textContent.includes("messages restored") && document.body.textContent.includes("done")`)

	do(t, ctx, "the outbox page", chromedp.Navigate(outbox))
	deadline := time.Now().Add(30 * time.Second)
	for {
		text := evalJS[string](t, ctx, `document.body.textContent`)
		if strings.Contains(text, demoAdmin) && strings.Contains(text, user.Addr) && strings.Contains(text, "done") &&
			strings.Contains(text, "messages disappeared from your mailbox") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox page does not show the warning and both emails of the restore:\n%.2000s", text)
		}
		time.Sleep(500 * time.Millisecond)
		do(t, ctx, "reload", chromedp.Reload())
	}
	watch.check(t)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("mtm demo exited %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("mtm demo did not stop")
	}
}

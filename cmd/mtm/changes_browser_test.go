package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"

	"mtm/internal/catalog"
)

// TestChangesInBrowser is the anxious user's way in chromium: the link of
// a warning email (the Changes view between two days) asks for the login
// and comes back to the view; it says a folder was deleted with its 12
// messages; a row opens the message as it was; the user selects the
// deleted folder and requests its restore, and turns off the warning
// about vanished mail in the settings; the admin confirms in the
// panel; the folder is back in Dovecot, byte for byte, and INBOX's
// message marked read on the way is neither doubled nor touched.
func TestChangesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and chromium")
	}
	ctx, watch := browse(t, t.TempDir())
	const alice, folder = "alice@example.com", "Reisen/Japan 日本"
	e := newE2E(t, alice)
	smtp := withSMTP(t, e)
	for i := range 12 {
		e.dc.Append(t, alice, folder, []byte(fmt.Sprintf("Subject: Reise %d\r\nFrom: guide@example.net\r\nMessage-ID: <r%d@x>\r\n\r\nTokyo %d\r\n", i, i, i)),
			[]imap.Flag{imap.FlagSeen}, time.Time{})
	}
	e.dc.Append(t, alice, "INBOX", []byte("Subject: hello\r\n\r\nhi\r\n"), nil, time.Time{})
	backup := e.liveMeta(alice, folder)
	e.now = "2026-11-19T03:00:00+01:00"
	e.mustMTM("snapshot")
	e.now = "2026-11-20T03:00:00+01:00" // nothing changed since the 19th
	e.mustMTM("snapshot")
	c := e.dc.Dial(t, alice)
	if err := c.Delete(folder).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	e.now = "2026-11-21T03:00:00+01:00"
	e.mustMTM("snapshot")
	e.now = ""
	inbox := e.liveMeta(alice, "INBOX")
	s := serveE2E(t, e, smtp)

	do(t, ctx, "the link of a warning, logged out", chromedp.Navigate(s.base+"/changes?from=2026-11-20&to=2026-11-21"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), alice), chromedp.SendKeys(chromedp.ID("password"), "pw-"+alice+"\n"))
	waitPage(t, ctx, "the Changes view after the login", `location.pathname === "/changes" &&
		document.getElementById("chsummary").textContent.includes("1 folder deleted, 12 messages deleted")`)
	waitJS(t, ctx, "the deleted folder", fmt.Sprintf(`[...document.querySelectorAll("#chfolders li.fchange.deleted")].some((li) =>
		li.dataset.folder === %q && li.textContent.includes("with 12 messages"))`, folder))
	waitJS(t, ctx, "the flag change", `document.getElementById("chrows").textContent.includes("marked read in INBOX")`)
	do(t, ctx, "open a deleted message", chromedp.Click(chromedp.CSS(`#chrows tr.c-deleted td.subject`)))
	waitJS(t, ctx, "the message as it was", `document.getElementById("rhead").textContent.includes("Reise") &&
		document.getElementById("text").textContent.includes("Tokyo")`)

	do(t, ctx, "select the deleted folder", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#chfolders li[data-folder=%q] input.pickgroup`, folder))))
	waitJS(t, ctx, "its messages selected", `document.getElementById("chselcount").textContent.startsWith("12 messages selected") &&
		document.querySelectorAll("#chrows input.pick:checked").length === 12`)
	do(t, ctx, "a desktop window", chromedp.EmulateViewport(1400, 900))
	do(t, ctx, "ask for the restore", chromedp.Click(chromedp.ID("chrestore")))
	waitJS(t, ctx, "the dialog for the selection", `document.getElementById("restore").open &&
		!document.getElementById("restoresel").hidden && document.getElementById("restorewhat").hidden &&
		document.getElementById("restoreday").dataset.day === "2026-11-20"`)
	do(t, ctx, "preview", chromedp.Click(chromedp.ID("restorepreview")))
	waitJS(t, ctx, "the preview", `document.getElementById("restoreresult").textContent.includes("12 messages would come back")`)
	do(t, ctx, "send the request", chromedp.Click(chromedp.ID("restoresend")))
	waitJS(t, ctx, "the request listed", `document.getElementById("myrestores").textContent.includes("12 selected messages")`)
	do(t, ctx, "close the dialog, open the settings", chromedp.Click(chromedp.ID("closerestore")), chromedp.Click(chromedp.ID("settingsbtn")))
	waitJS(t, ctx, "the warning on", `document.getElementById("settings").open && document.getElementById("set-warning").checked`)
	do(t, ctx, "turn the warning off", chromedp.Click(chromedp.ID("set-warning")))
	waitJS(t, ctx, "saved", `document.getElementById("settingsstatus").textContent === "Saved: you will not be warned."`)
	// A search over every day finds a deleted message once, says when it
	// went, and offers to restore it.
	do(t, ctx, "back to the mailbox", chromedp.Click(chromedp.ID("closesettings")), chromedp.Click(chromedp.ID("chclose")))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/api/v1/search?q=Reise").then((r) => r.json()).then((j) => j.total)`,
			chromedp.EvalAwaitPromise))
		if err == nil && n == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the search index never held the 12 messages: %d %v", n, err)
		}
	}
	do(t, ctx, "search every day", chromedp.SetValue(chromedp.ID("scope"), "days"),
		chromedp.SendKeys(chromedp.ID("q"), "Reise 3\n"))
	waitJS(t, ctx, "one result, deleted on the 21st", `document.getElementById("rows").children.length === 1 &&
		document.getElementById("rows").textContent.includes("Reise 3") &&
		document.getElementById("rows").textContent.includes("deleted on")`)
	do(t, ctx, "open it", chromedp.Click(chromedp.CSS(`#rows tr td.subject`)))
	waitJS(t, ctx, "the message", `document.getElementById("text").textContent.includes("Tokyo 3")`)
	do(t, ctx, "restore this message", chromedp.Click(chromedp.ID("restoremsg")))
	waitJS(t, ctx, "the dialog for it", `document.getElementById("restore").open &&
		document.getElementById("restoresel").textContent.includes("the message you selected")`)
	do(t, ctx, "preview it", chromedp.Click(chromedp.ID("restorepreview")))
	waitJS(t, ctx, "one would come back", `document.getElementById("restoreresult").textContent.includes("1 message would come back")`)
	do(t, ctx, "close without sending", chromedp.Click(chromedp.ID("closerestore")))
	// From a folder's message list: two messages ticked on the 20th.
	do(t, ctx, "the mailbox", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("when")))
	waitJS(t, ctx, "the days", `[...document.getElementById("day").options].some((o) => o.dataset.day === "2026-11-20")`)
	do(t, ctx, "pick the 20th", chromedp.Evaluate[chromedp.Void](`(() => { const d = document.getElementById("day");
		d.value = [...d.options].find((o) => o.dataset.day === "2026-11-20").value;
		d.dispatchEvent(new Event("change")); })()`))
	waitJS(t, ctx, "the folder", fmt.Sprintf(`document.querySelector('button.folder[data-name=%q]') !== null`, folder))
	do(t, ctx, "open it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`button.folder[data-name=%q]`, folder))))
	waitJS(t, ctx, "its messages", `document.querySelectorAll("#rows input.pick").length === 12`)
	do(t, ctx, "tick two", chromedp.Click(chromedp.CSS(`#rows tr:nth-child(1) input.pick`)),
		chromedp.Click(chromedp.CSS(`#rows tr:nth-child(2) input.pick`)))
	waitJS(t, ctx, "two selected", `document.getElementById("listselcount").textContent.startsWith("2 messages selected") &&
		!document.getElementById("reader").contains(document.querySelector("#rhead h2"))`)
	do(t, ctx, "restore them", chromedp.Click(chromedp.ID("listrestore")))
	waitJS(t, ctx, "the dialog for two", `document.getElementById("restore").open &&
		document.getElementById("restoresel").textContent.includes("the 2 messages you selected")`)
	do(t, ctx, "preview", chromedp.Click(chromedp.ID("restorepreview")))
	waitJS(t, ctx, "two would come back", `document.getElementById("restoreresult").textContent.includes("2 messages would come back")`)
	do(t, ctx, "close without sending", chromedp.Click(chromedp.ID("closerestore")))
	do(t, ctx, "two days alike", chromedp.Navigate(s.base+"/changes?from=2026-11-19&to=2026-11-20"))
	waitPage(t, ctx, "nothing changed, said plainly", `document.getElementById("chsummary").textContent.startsWith("Nothing changed between") &&
		document.getElementById("chrows").children.length === 0 && document.getElementById("chfolders").children.length === 0`)
	if mail := waitMail(t, smtp, "boss@example.com", 1); !strings.Contains(string(mail[0].Data), "12 selected message(s)") {
		t.Errorf("the admin's email does not say what was selected:\n%s", mail[0].Data)
	}

	do(t, ctx, "admin login", chromedp.Navigate(s.base+"/admin"), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "boss@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword+"\n"))
	waitPage(t, ctx, "the request list", `document.querySelector("a[href^='/admin/restores/']") !== null`)
	do(t, ctx, "open the request", chromedp.Click(chromedp.CSS(`a[href^='/admin/restores/']`)))
	waitPage(t, ctx, "the request page", `document.body.textContent.includes("12 selected messages") && document.body.textContent.includes("Confirm and restore now")`)
	do(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`button.primary`)))
	waitPage(t, ctx, "the result", `document.body.textContent.includes("12 messages restored")`)

	if got := e.liveMeta(alice, folder); !equalMeta(got, backup) {
		t.Errorf("the folder after the restore differs from the backup")
	}
	if got := e.liveMeta(alice, "INBOX"); !equalMeta(got, inbox) {
		t.Errorf("INBOX changed in the restore")
	}
	cat := e.openCatalog(context.Background(), catalog.Options{})
	defer cat.Close() //nolint:errcheck // test
	acct, err := cat.LookupAccount(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if set, err := cat.AccountSettings(context.Background(), acct); err != nil || set.MassDeletionWarning {
		t.Errorf("the warning is still on after the user turned it off: %+v %v", set, err)
	}
	watch.check(t)
}

package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"mtm/internal/testenv/hostile"
)

// chromium returns the browser binary. Without one the test is skipped,
// unless MTMTEST_REQUIRE_INTEGRATION=1, when it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MTMTEST_REQUIRE_INTEGRATION") == "1" {
		t.Fatal("chromium is not installed (scripts/deps.sh installs it) and MTMTEST_REQUIRE_INTEGRATION=1")
	}
	t.Skip("chromium is not installed")
	return ""
}

// pageWatch records what a page does that the tests forbid: requests to a
// host other than the loopback, dialogs, and console messages.
type pageWatch struct {
	mu       sync.Mutex
	foreign  []string
	dialogs  []string
	console  []string
	requests []string
}

func (w *pageWatch) listen(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		u, err := url.Parse(ev.Request.URL)
		w.requests = append(w.requests, ev.Request.URL)
		if err != nil || (u.Scheme != "data" && u.Hostname() != "127.0.0.1" && u.Scheme != "about") {
			w.foreign = append(w.foreign, ev.Request.URL)
		}
	case *page.EventJavascriptDialogOpening:
		w.dialogs = append(w.dialogs, ev.Message)
	case *runtime.EventConsoleAPICalled:
		for _, a := range ev.Args {
			w.console = append(w.console, string(a.Value))
		}
	}
}

func (w *pageWatch) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.foreign) > 0 {
		t.Errorf("requests to non-local hosts: %q", w.foreign)
	}
	if len(w.dialogs) > 0 {
		t.Errorf("dialogs opened: %q", w.dialogs)
	}
	for _, c := range w.console {
		if strings.Contains(c, hostile.Marker) {
			t.Errorf("a hostile script ran: console %q", c)
		}
	}
}

// browse starts one headless chromium for the whole test and returns a tab
// and its watch.
func browse(t *testing.T, downloads string) (context.Context, *pageWatch) {
	t.Helper()
	bin := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		// Nothing may leave the machine even if a request were attempted.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	w := &pageWatch{}
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(w.listen))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true)}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	return ctx, w
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until the JavaScript expression is truthy.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	safe := "(() => { try { return " + expr + " } catch (e) { return false } })()"
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](safe, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v\n%s", what, expr, err, pageState(ctx))
	}
}

// pageState is where the browser is and what its page says, for a failed wait.
func pageState(ctx context.Context) string {
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 2000)`))
	if err != nil {
		return "(the page cannot be read: " + err.Error() + ")"
	}
	return "page: " + s
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestWebmailInBrowser drives the webmail in chromium against snapshots of a
// real Dovecot: log in, switch days, open a folder and a message, view its
// source, download it from the context menu of the list, then open every
// hostile message with no script running and no request leaving the host.
func TestWebmailInBrowser(t *testing.T) {
	downloads := t.TempDir()
	ctx, watch := browse(t, downloads)
	e := newWebmailEnv(t)
	live := e.liveBytes("alice@example.com", "INBOX")
	type step struct {
		name string
		fn   func(*testing.T)
	}
	var steps []step

	steps = append(steps, step{"login", func(t *testing.T) {
		do(t, ctx, "login page", chromedp.Navigate(e.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("email")))
		do(t, ctx, "wrong password", chromedp.SendKeys(chromedp.ID("email"), "alice@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), "wrong\n"))
		waitJS(t, ctx, "the error", `!document.getElementById("error").hidden`)
		if msg := evalJS[string](t, ctx, `document.getElementById("error").textContent`); msg != "The email address or the password is wrong." {
			t.Errorf("error %q", msg)
		}
		do(t, ctx, "right password", chromedp.Evaluate[chromedp.Void](`document.getElementById("password").value = ""`),
			chromedp.SendKeys(chromedp.ID("password"), "pw-alice@example.com\n"), chromedp.WaitVisible(chromedp.ID("when")))
		waitJS(t, ctx, "the newest day", `document.getElementById("when").dataset.day === "2026-11-24"`)
		waitJS(t, ctx, "the inbox", `document.querySelectorAll("#rows tr").length === 3`)
	}})
	steps = append(steps, step{"switch day", func(t *testing.T) {
		if n := evalJS[int](t, ctx, `document.getElementById("day").options.length`); n != 2 {
			t.Errorf("%d days offered", n)
		}
		do(t, ctx, "pick day 1", chromedp.SetValue(chromedp.ID("day"), fmt.Sprint(e.days[0].ID)),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("day").dispatchEvent(new Event("change"))`))
		waitJS(t, ctx, "day 1", `document.getElementById("when").dataset.day === "2026-11-23"`)
		waitJS(t, ctx, "day 1's inbox", `document.querySelectorAll("#rows tr").length === 2 &&
			!document.getElementById("rows").textContent.includes("Day two news")`)
	}})
	steps = append(steps, step{"folder tree", func(t *testing.T) {
		tree := evalJS[string](t, ctx, `document.getElementById("tree").textContent`)
		for _, want := range []string{"Entwürfe", "2024", "unsubscribed"} {
			if !strings.Contains(tree, want) {
				t.Errorf("tree %q lacks %q", tree, want)
			}
		}
		do(t, ctx, "open Archive/2024", chromedp.Click(chromedp.CSS(`button.folder[data-name="Archive/2024"]`)))
		waitJS(t, ctx, "the archive", `document.getElementById("listtitle").textContent === "Archive/2024" &&
			document.querySelectorAll("#rows tr").length === 1`)
	}})
	steps = append(steps, step{"open message and view source", func(t *testing.T) {
		do(t, ctx, "open INBOX", chromedp.Click(chromedp.CSS(`button.folder[data-name="INBOX"]`)))
		waitJS(t, ctx, "the inbox", `document.getElementById("listtitle").textContent === "INBOX" &&
			document.querySelectorAll("#rows tr").length === 2`)
		do(t, ctx, "open the newsletter", chromedp.Click(chromedp.CSS(`#rows tr:nth-child(2)`)))
		waitJS(t, ctx, "the body", `(() => { const f = document.getElementById("body");
			return !f.hidden && f.contentDocument && f.contentDocument.body && f.contentDocument.body.textContent.includes("café") })()`)
		if s := evalJS[string](t, ctx, `document.querySelector("#rhead h2").textContent`); s != "Привет newsletter" {
			t.Errorf("subject %q", s)
		}
		waitJS(t, ctx, "the inline image", `(() => { const i = document.getElementById("body").contentDocument.querySelector("img");
			return i && i.complete && i.naturalWidth === 1 })()`)
		do(t, ctx, "view source", chromedp.Click(chromedp.ID("viewsource")))
		waitJS(t, ctx, "the source", `document.getElementById("source").open`)
		src := evalJS[string](t, ctx, `document.getElementById("sourcetext").textContent`)
		if !live[sha(windows1252(src))] {
			t.Errorf("source is not the stored message: %.200q", src)
		}
		do(t, ctx, "close source", chromedp.Click(chromedp.ID("closesource")))
	}})
	steps = append(steps, step{"right-click download", func(t *testing.T) {
		checkDownload(t, ctx, downloads, live)
	}})
	steps = append(steps, step{"hostile messages", func(t *testing.T) {
		openHostile(t, ctx, len(e.hostileAt))
	}})
	steps = append(steps, step{"narrow screen", func(t *testing.T) {
		do(t, ctx, "360 px", chromedp.EmulateViewport(360, 740))
		do(t, ctx, "reload", chromedp.Navigate(e.ts.URL+"/"))
		waitJS(t, ctx, "the list", `document.querySelectorAll("#rows tr").length > 0`)
		if w := evalJS[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("page is %d px wide at 360 px", w)
		}
		do(t, ctx, "open a message", chromedp.Click(chromedp.CSS(`#rows tr:first-child`)))
		waitJS(t, ctx, "the reader alone", `getComputedStyle(document.getElementById("reader")).display !== "none" &&
			getComputedStyle(document.getElementById("list")).display === "none"`)
	}})
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			break
		}
	}
	watch.check(t)
	if t.Failed() {
		t.Logf("requests: %q", watch.requests)
	}
}

// windows1252 undoes the viewer's decoding of non-UTF-8 source: it shows
// such bytes as windows-1252, so map the text back to bytes when it is not
// what was stored as UTF-8.
func windows1252(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x100:
			out = append(out, byte(r))
		default:
			if b, ok := cp1252[r]; ok {
				out = append(out, b)
			} else {
				return []byte(s)
			}
		}
	}
	return out
}

var cp1252 = map[rune]byte{'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b, 'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f}

// checkDownload right-clicks the first row, picks Download in the context
// menu, and compares the downloaded file with the server's bytes.
func checkDownload(t *testing.T, ctx context.Context, dir string, live map[string]bool) {
	t.Helper()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`#rows tr:first-child`)))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("first row: %v", err)
	}
	do(t, ctx, "right-click", chromedp.MouseClickNode(nodes[0], chromedp.ButtonRight))
	waitJS(t, ctx, "the context menu", `!document.getElementById("menu").hidden`)
	items := evalJS[string](t, ctx, `document.getElementById("menu").textContent`)
	if !strings.Contains(items, "Download") || !strings.Contains(items, "View source") {
		t.Errorf("menu %q", items)
	}
	do(t, ctx, "Download", chromedp.Click(chromedp.ID("menu-download")))
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			t.Fatal(err)
		}
		if !live[sha(b)] {
			t.Errorf("downloaded %d bytes that are no message of the server's INBOX", len(b))
		}
		return
	}
}

// openHostile opens every message of the Hostile folder, and every
// attached message, waiting for each body frame to load.
func openHostile(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	do(t, ctx, "open Hostile", chromedp.Click(chromedp.CSS(`button.folder[data-name="Hostile"]`)))
	waitJS(t, ctx, "the hostile list", fmt.Sprintf(`document.getElementById("listtitle").textContent === "Hostile" &&
		document.querySelectorAll("#rows tr").length === %d`, n))
	title := evalJS[string](t, ctx, `document.title`)
	for i := 1; i <= n; i++ {
		do(t, ctx, "open", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows tr:nth-child(%d)`, i))))
		waitJS(t, ctx, "the message", `document.getElementById("placeholder").hidden &&
			(document.getElementById("body").hidden || (document.getElementById("body").contentDocument || {}).readyState === "complete")`)
		if evalJS[bool](t, ctx, `!!document.querySelector("#atts button")`) {
			do(t, ctx, "view attached", chromedp.Click(chromedp.CSS(`#atts button`)))
			waitJS(t, ctx, "the attached message", `document.querySelector("#rhead h2").textContent === "Inner hostile" &&
				(document.getElementById("body").contentDocument || {}).readyState === "complete"`)
		}
		do(t, ctx, "settle", chromedp.Sleep(100*time.Millisecond))
	}
	if got := evalJS[string](t, ctx, `document.title`); got != title {
		t.Errorf("document.title changed to %q", got)
	}
}

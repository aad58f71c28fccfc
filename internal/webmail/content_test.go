package webmail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"mtm/internal/testenv/hostile"
)

func httptestRecorder(s *Server, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

func TestSnapshotsFoldersAndLists(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	_, body := c.do("GET", "/api/v1/snapshots", "")
	snaps := decode[[]snapshotJSON](t, body)
	if len(snaps) != 2 || snaps[0].ID != int64(f.alice[1].ID) || snaps[0].Day != "2026-11-24" ||
		snaps[1].Day != "2026-11-23" || !strings.HasSuffix(snaps[1].TakenAt, "+01:00") {
		t.Errorf("snapshots %+v", snaps)
	}
	_, body = c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/folders", f.alice[0].ID), "")
	folders := decode[[]folderJSON](t, body)
	got := map[string]folderJSON{}
	for _, fo := range folders {
		got[fo.Name] = fo
	}
	if fo := got["Entwürfe"]; fo.SpecialUse != `\Drafts` || fo.Delimiter != "/" {
		t.Errorf("non-ASCII drafts folder: %+v", fo)
	}
	if got["Archive"].Selectable || !got["Archive/2024"].Selectable || got["INBOX"].Messages != 2 || got["Hostile"].Subscribed {
		t.Errorf("folders %+v", folders)
	}
	list := func(q string) listJSON {
		res, body := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages?%s", f.alice[0].ID, q), "")
		if res.StatusCode != 200 {
			t.Fatalf("list %s: %d %s", q, res.StatusCode, body)
		}
		return decode[listJSON](t, body)
	}
	l := list("folder=INBOX&sort=-date")
	if l.Total != 2 || l.Messages[0].Subject != "Lunch on Friday" || l.Messages[1].Subject != "Grüße / newsletter" ||
		!l.Messages[1].HasAttachments || l.Messages[0].Flags[0] != `\Seen` || l.Messages[0].Folder != "INBOX" {
		t.Errorf("inbox %+v", l)
	}
	if l := list("folder=INBOX&sort=subject&offset=1&limit=1"); l.Total != 2 || len(l.Messages) != 1 ||
		l.Messages[0].Subject != "Lunch on Friday" {
		t.Errorf("page 2 by subject %+v", l)
	}
	if l := list("q=harbour"); l.Total != 2 { // INBOX and Archive/2024 hold the same message
		t.Errorf("search all folders: %+v", l)
	}
	if l := list("q=harbour&folder=Archive/2024"); l.Total != 1 || l.Messages[0].Folder != "Archive/2024" {
		t.Errorf("search one folder: %+v", l)
	}
	if l := list("q=bob"); l.Total != 0 {
		t.Errorf("search finds bob's mail: %+v", l)
	}
	if l := list("folder=Archive"); l.Total != 0 {
		t.Errorf("container: %+v", l)
	}
	if l := list("folder=Archive&q=harbour"); l.Total != 0 {
		t.Errorf("search in a container: %+v", l)
	}
	for _, q := range []string{"folder=INBOX&sort=colour", "folder=INBOX&limit=0", "folder=INBOX&offset=-1", ""} {
		if res, _ := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages?%s", f.alice[0].ID, q), ""); res.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, res.StatusCode)
		}
	}
	if res, _ := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages?folder=Nope", f.alice[0].ID), ""); res.StatusCode != 404 {
		t.Errorf("unknown folder: %d", res.StatusCode)
	}
}

func TestMessageDetailBodyAndParts(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	mid := f.ids(f.alice[1], "INBOX")[0]
	base := fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", f.alice[1].ID, mid)
	_, body := c.do("GET", base, "")
	d := decode[detailJSON](t, body)
	if d.Headers.Subject != "Grüße / newsletter" || !d.HasHTML || d.RemoteImages != 1 || len(d.Attachments) != 2 ||
		d.Base != base || strings.Contains(d.HTML, "tracker.example/t.png\"") && strings.Contains(d.HTML, ` src="https`) {
		t.Errorf("detail %+v", d)
	}
	res, doc := c.do("GET", base+"/body", "")
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'none'") || !strings.Contains(csp, "img-src 'self' data:;") ||
		!strings.Contains(doc, `src="cid/logo@x"`) || strings.Contains(doc, ` src="https://tracker`) {
		t.Errorf("body %q\n%s", csp, doc)
	}
	res, doc = c.do("GET", base+"/body?remote=1", "")
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "https:") || !strings.Contains(doc, ` src="https://tracker`) {
		t.Errorf("remote images allowed: %s", doc)
	}
	res, png := c.do("GET", base+"/cid/logo@x", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(png, "\x89PNG") {
		t.Errorf("cid image: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for i, a := range d.Attachments {
		if a.FileName != "report 2026.pdf" {
			continue
		}
		res, b := c.do("GET", fmt.Sprintf("%s/attachments/%d", base, i), "")
		_, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
		if res.Header.Get("Content-Type") != "application/octet-stream" || err != nil ||
			params["filename"] != "report 2026.pdf" || b != "%PDF-1.4 not really" {
			t.Errorf("attachment: %v %v %q", res.Header, err, b)
		}
	}
}

func TestRawIsTheStoredBytes(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	mid := f.ids(f.alice[1], "INBOX")[0]
	res, body := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d/raw", f.alice[1].ID, mid), "")
	if !bytes.Equal([]byte(body), htmlMsg) {
		t.Errorf("raw bytes differ: %d bytes, want %d", len(body), len(htmlMsg))
	}
	_, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
	if res.Header.Get("Content-Type") != "message/rfc822" || err != nil || params["filename"] != "Grüße _ newsletter.eml" {
		t.Errorf("headers %v %v", res.Header, err)
	}
}

func TestHostileMessagesOverTheAPI(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	ids := f.ids(f.alice[1], "Hostile")
	if len(ids) != len(hostile.Messages()) {
		t.Fatalf("%d hostile messages stored", len(ids))
	}
	for _, id := range ids {
		base := fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", f.alice[1].ID, id)
		res, body := c.do("GET", base, "")
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", base, res.StatusCode, body)
		}
		d := decode[detailJSON](t, body)
		if strings.HasPrefix(d.Subject, "nested ") && (!d.TooComplex || !strings.Contains(d.Text, "<script>")) {
			t.Errorf("%s: too complex %v, its raw text %q", d.Subject, d.TooComplex, d.Text)
		}
		res, doc := c.do("GET", base+"/body", "")
		if res.StatusCode != 200 || strings.Contains(strings.ToLower(doc), "<script") || strings.Contains(doc, "onerror") {
			t.Errorf("%s body: %d %s", d.Subject, res.StatusCode, doc)
		}
		urls := []string{base + "/raw"}
		for _, a := range d.Attachments {
			urls = append(urls, fmt.Sprintf("%s/attachments/%d", base, a.Index))
			if a.IsMessage {
				urls = append(urls, fmt.Sprintf("%s/parts/%d/message", base, a.Index), fmt.Sprintf("%s/parts/%d/body", base, a.Index),
					fmt.Sprintf("%s/parts/%d/raw", base, a.Index))
			}
			if a.ContentID != "" { // an SVG: never served as an image
				if res, _ := c.do("GET", base+"/cid/"+strings.Trim(a.ContentID, "<>"), ""); res.StatusCode != 404 {
					t.Errorf("svg cid served: %d", res.StatusCode)
				}
			}
		}
		for _, u := range urls {
			res, body := c.do("GET", u, "")
			cd := res.Header.Get("Content-Disposition")
			if res.StatusCode != 200 || strings.ContainsAny(cd, "\r\n<>") || strings.Contains(cd, "/") {
				t.Errorf("%s: %d disposition %q", u, res.StatusCode, cd)
			}
			if strings.HasSuffix(u, "/body") && strings.Contains(strings.ToLower(body), "<script") {
				t.Errorf("%s holds a script", u)
			}
			if ct := res.Header.Get("Content-Type"); strings.Contains(u, "/attachments/") && ct != "application/octet-stream" {
				t.Errorf("%s served as %s", u, ct)
			}
		}
	}
	if res, _ := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d/parts/9.9/message", f.alice[1].ID, ids[0]), ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing part: %d", res.StatusCode)
	}
	// Viewing hostile mail is not an error of the server: nothing logged
	// as one (a line per view would drown the operators' real errors).
	if strings.Contains(f.log.String(), "level=ERROR") {
		t.Errorf("viewing the hostile messages logged errors:\n%s", f.log.String())
	}
}

func TestPagesAndAssets(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	res, page := c.do("GET", "/", "")
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("app page: %d %q", res.StatusCode, csp)
	}
	// Every frame is sandboxed: the message body's may not run scripts, the
	// PDF preview's runs them as an origin of its own (never both).
	frames := regexp.MustCompile(`<iframe id="(\w+)"[^>]* sandbox="([^"]*)"`).FindAllStringSubmatch(page, -1)
	want := map[string]string{"body": "allow-same-origin allow-popups allow-popups-to-escape-sandbox", "pdfframe": "allow-scripts"}
	if len(frames) != len(want) || strings.Count(page, "<iframe") != len(want) || !strings.Contains(page, "alice@example.com") {
		t.Errorf("app page frames or account: %q", frames)
	}
	for _, f := range frames {
		if want[f[1]] != f[2] {
			t.Errorf("frame %s sandbox %q, want %q", f[1], f[2], want[f[1]])
		}
	}
	for path, ctype := range map[string]string{"/static/app.js": "text/javascript", "/static/app.css": "text/css",
		"/static/login.js": "text/javascript"} {
		res, body := c.do("GET", path, "")
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) || len(body) < 100 {
			t.Errorf("%s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	// The PDF preview's frame and the files it loads: shared with its
	// sandboxed origin, and only those.
	if res, body := f.anon().do("GET", "/pdfview", ""); res.StatusCode != 200 ||
		!strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "sandbox allow-scripts;") ||
		!strings.Contains(body, `src="/static/pdfview.js"`) {
		t.Errorf("/pdfview: %d %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	for path, shared := range map[string]bool{"/static/pdfview.js": true, "/static/pdfjs/pdf.min.mjs": true,
		"/static/pdfjs/pdf.worker.min.mjs": true, "/static/pdfview.css": true, "/static/app.js": false, "/static/restore.js": false} {
		res, _ := f.anon().do("GET", path, "")
		if got := res.Header.Get("Access-Control-Allow-Origin") == "*"; res.StatusCode != 200 || got != shared {
			t.Errorf("%s: %d, shared with any origin: %v", path, res.StatusCode, got)
		}
	}
	_, help := f.anon().do("GET", "/help", "")
	for _, want := range []string{"15 days", "between two copies", "POP3"} {
		if !strings.Contains(help, want) {
			t.Errorf("help page lacks %q", want)
		}
	}
	if res, _ := c.do("GET", "/static/nothing.js", ""); res.StatusCode != 404 {
		t.Errorf("missing asset: %d", res.StatusCode)
	}
}

// TestPrintPage: a message's print page shows its headers and body, runs
// only this server's print script, and no hostile message gets a script,
// an event handler or a remote load into it.
func TestPrintPage(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	for _, id := range f.ids(f.alice[1], "Hostile") {
		res, doc := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d/print", f.alice[1].ID, id), "")
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("message %d: %d, CSP %q", id, res.StatusCode, csp)
		}
		if active := activeParts(t, doc); len(active) > 0 {
			t.Errorf("message %d: the print page holds %v", id, active)
		}
	}
	ids := f.ids(f.alice[1], "INBOX")
	_, doc := c.do("GET", fmt.Sprintf("/api/v1/snapshots/%d/messages/%d/print", f.alice[1].ID, ids[0]), "")
	if !strings.Contains(doc, "Grüße / newsletter") || !strings.Contains(doc, "news@example.com") || !strings.Contains(doc, "<b>world</b>") {
		t.Errorf("the newsletter's print page:\n%.800s", doc)
	}
}

// activeParts parses a page and lists what could act: scripts other than
// /static/print.js, event handler attributes, URLs that leave this server
// or run code.
func activeParts(t *testing.T, doc string) []string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" {
				src := ""
				for _, a := range n.Attr {
					if a.Key == "src" {
						src = a.Val
					}
				}
				if src != "/static/print.js" || n.FirstChild != nil {
					out = append(out, "script "+src)
				}
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(a.Key, "on") || (a.Key == "src" || a.Key == "href" || a.Key == "srcset" || a.Key == "action") &&
					(strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "javascript:")) {
					out = append(out, n.Data+" "+a.Key+"="+a.Val)
				}
			}
			if n.Data == "iframe" || n.Data == "object" || n.Data == "embed" || n.Data == "base" || n.Data == "form" {
				out = append(out, n.Data)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

// TestAttachmentPreview: a raster image attachment can be viewed as an
// image (for the preview), an SVG or any other part only downloads.
func TestAttachmentPreview(t *testing.T) {
	f := newFixture(t)
	c := f.login("alice@example.com", "alice-pw")
	checked := 0
	for _, id := range append(f.ids(f.alice[1], "INBOX"), f.ids(f.alice[1], "Hostile")...) {
		base := fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", f.alice[1].ID, id)
		_, body := c.do("GET", base, "")
		d := decode[detailJSON](t, body)
		for _, a := range d.Attachments {
			res, _ := c.do("GET", fmt.Sprintf("%s/attachments/%d?view=1", base, a.Index), "")
			ct := strings.ToLower(a.ContentType)
			raster := ct == "image/png" || ct == "image/jpeg" || ct == "image/gif"
			pdf := ct == "application/pdf"
			if (a.Preview == "image") != raster || (a.Preview == "pdf") != pdf {
				t.Errorf("%s (%s) listed with preview %q", a.FileName, ct, a.Preview)
			}
			switch {
			case raster && (res.StatusCode != 200 || res.Header.Get("Content-Type") != ct || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox")):
				t.Errorf("%s: preview %d %q", ct, res.StatusCode, res.Header.Get("Content-Type"))
			case !raster && res.StatusCode != 404:
				t.Errorf("%s (%s) served for viewing: %d", a.FileName, ct, res.StatusCode)
			}
			checked++
		}
	}
	if checked < 3 {
		t.Errorf("only %d attachments checked", checked)
	}
}

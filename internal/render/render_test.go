package render

import (
	"mime"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"mtm/internal/testenv/hostile"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// allowedElements is every element the sanitized HTML may contain.
var allowedElements = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`html head body p div span a img b i u em strong br hr table thead tbody tfoot
		tr td th caption col colgroup ul ol li dl dt dd h1 h2 h3 h4 h5 h6 pre code blockquote font center small big
		sub sup s strike del ins q cite abbr article aside figure figcaption section summary details address
		tt kbd samp var mark ruby rt rp wbr bdi bdo time meter progress nav header footer main hgroup map area label`) {
		allowedElements[e] = true
	}
}

// checkSafe fails the test if the sanitized fragment holds anything that
// could run a script or load from elsewhere.
func checkSafe(t *testing.T, name, frag string, remote bool) {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(frag), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		t.Fatalf("%s: output does not parse: %v", name, err)
	}
	for _, n := range nodes {
		walk(n, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			if !allowedElements[n.Data] {
				t.Errorf("%s: element <%s> in %s", name, n.Data, frag)
			}
			for _, a := range n.Attr {
				v := strings.ToLower(a.Val)
				switch {
				case strings.HasPrefix(a.Key, "on"):
					t.Errorf("%s: event handler %s=%q", name, a.Key, a.Val)
				case a.Key == "src" && !(strings.HasPrefix(v, "cid/") || strings.HasPrefix(v, "data:image/") || v == "" ||
					remote && strings.HasPrefix(v, "http")):
					t.Errorf("%s: <%s src=%q>", name, n.Data, a.Val)
				case a.Key == "href" && !(strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "mailto:") ||
					strings.HasPrefix(v, "#")):
					t.Errorf("%s: <%s href=%q>", name, n.Data, a.Val)
				case a.Key == "style" && (strings.Contains(v, "url") || strings.Contains(v, "expression")):
					t.Errorf("%s: style %q", name, a.Val)
				case a.Key == "srcset" || a.Key == "action" || a.Key == "formaction" || a.Key == "srcdoc" || a.Key == "http-equiv":
					t.Errorf("%s: attribute %s", name, a.Key)
				}
			}
		})
	}
}

func TestHostileCorpusIsSanitized(t *testing.T) {
	for _, hm := range hostile.Messages() {
		t.Run(hm.Name, func(t *testing.T) {
			m, err := Parse(hm.Raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, remote := range []bool{false, true} {
				doc, body := m.Document(remote)
				checkSafe(t, hm.Name, body.HTML, remote)
				if !remote && strings.Contains(body.HTML, ` src="http`) {
					t.Errorf("remote image not blocked: %s", body.HTML)
				}
				if strings.Count(strings.ToLower(doc), "<script") != 0 {
					t.Errorf("document holds a script: %s", doc)
				}
			}
			for _, v := range []string{m.Headers.Subject, m.Headers.From, m.Headers.To, m.Headers.Date, m.Headers.MessageID} {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Errorf("header value %q keeps a line break", v)
				}
			}
			for _, a := range m.Attachments() {
				name := SafeFileName(a.FileName, "attachment", "")
				if strings.ContainsAny(name, "/\\\r\n\"<>") || strings.HasPrefix(name, ".") {
					t.Errorf("unsafe file name %q from %q", name, a.FileName)
				}
				if _, params, err := mime.ParseMediaType(ContentDisposition(name)); err != nil || params["filename"] != name {
					t.Errorf("Content-Disposition for %q does not round-trip: %v %v", name, params, err)
				}
			}
		})
	}
}

func TestRemoteImagesCountedAndAllowedOnRequest(t *testing.T) {
	raw := crlf("Subject: t\nContent-Type: text/html\n\n<p>x<img src=\"https://img.example/a.png\"><img src=\"cid:logo%40x\"></p>\n")
	m, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	blocked := m.SanitizedHTML(false)
	if blocked.RemoteImages != 1 || strings.Contains(blocked.HTML, ` src="https://`) ||
		!strings.Contains(blocked.HTML, `data-mtm-src="https://img.example/a.png"`) {
		t.Errorf("blocked: %+v", blocked)
	}
	if !strings.Contains(blocked.HTML, `src="cid/logo@x"`) {
		t.Errorf("cid image not rewritten: %s", blocked.HTML)
	}
	allowed := m.SanitizedHTML(true)
	if !strings.Contains(allowed.HTML, `src="https://img.example/a.png"`) {
		t.Errorf("allowed: %s", allowed.HTML)
	}
}

func TestCharsetsAreDecoded(t *testing.T) {
	cases := []struct {
		charset, body, want string
	}{
		{"windows-1252", "caf\xe9 \x80", "café €"},
		{"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B", "こんにちは"},
		{"iso-8859-15", "\xa4", "€"},
	}
	for _, c := range cases {
		raw := crlf("Subject: =?" + c.charset + "?q?x?=\nContent-Type: text/plain; charset=" + c.charset + "\n\n" + c.body + "\n")
		m, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(m.Text()); got != c.want {
			t.Errorf("%s: text %q, want %q", c.charset, got, c.want)
		}
	}
}

// TestDeclaredCharsetWins: a short UTF-8 text beside an attachment (the
// demo's trip mail, shown garbled before: the parser guessed Latin-1 over
// the declaration) reads as declared; a text that declares UTF-8 over
// Windows-1252 bytes, which cannot be UTF-8, is read by guessing; a part
// that declares nothing too.
func TestDeclaredCharsetWins(t *testing.T) {
	latin := strings.Repeat("Il caff\xe8 \xe8 pronto, la cr\xe8me br\xfbl\xe9e anche. ", 4)
	for _, c := range []struct {
		name, raw, want string
	}{
		{"utf-8 beside an attachment", "Subject: Photos\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
			"--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" +
			"Hi S=C3=B8ren =C3=98stergaard,\n\nWe still need a decision on the venue.\n" +
			"--b\nContent-Type: image/jpeg; name=a.jpg\nContent-Disposition: attachment; filename=a.jpg\n" +
			"Content-Transfer-Encoding: base64\n\n/9j/2wCEAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7\n--b--\n",
			"Hi Søren Østergaard,"},
		{"utf-8 declared over windows-1252", "Subject: x\nContent-Type: text/plain; charset=utf-8\n\n" + latin + "\n",
			"Il caffè è pronto, la crème brûlée anche."},
		{"none declared", "Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\n",
			"Grüße aus Köln"},
		{"us-ascii declared over utf-8", "Subject: x\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 8bit\n\n" +
			"Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln: \xe2\x88\xae E\xe2\x8b\x85da = Q\n", "Grüße aus Köln: ∮ E⋅da = Q"},
		{"us-ascii, plain", "Subject: x\nContent-Type: text/plain; charset=us-ascii\n\nNothing but ASCII here.\n", "Nothing but ASCII here."},
	} {
		m, err := Parse(crlf(c.raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(m.Text()); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: text %q, want it to start %q", c.name, got, c.want)
		}
	}
}

func TestAttachmentsAndAttachedMessage(t *testing.T) {
	var att *Message
	for _, hm := range hostile.Messages() {
		if hm.Name == "attached-message" {
			m, err := Parse(hm.Raw)
			if err != nil {
				t.Fatal(err)
			}
			as := m.Attachments()
			if len(as) != 1 || !as[0].IsMessage {
				t.Fatalf("attachments %+v", as)
			}
			if att, err = m.Attached(0); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Attached(1); err == nil {
				t.Error("part 1 does not exist")
			}
		}
	}
	if att == nil || att.Headers.Subject != "Inner hostile" || !att.HasHTML() {
		t.Fatalf("attached message: %+v", att)
	}
	checkSafe(t, "inner", att.SanitizedHTML(false).HTML, false)
}

func TestSafeFileName(t *testing.T) {
	cases := []struct{ in, ext, want string }{
		{"report.pdf", "", "report.pdf"},
		{"../../etc/passwd", "", "passwd"},
		{`C:\evil\x.exe`, "", "x.exe"},
		{"a\r\nSet-Cookie: x=y\".txt", "", "a__Set-Cookie_ x=y_.txt"},
		{"...hidden", "", "hidden"},
		{"", ".eml", "message.eml"},
		{"Re: hello?", ".eml", "Re_ hello_.eml"},
		{"Grüße aus Köln", ".eml", "Grüße aus Köln.eml"},
		{strings.Repeat("x", 300), "", strings.Repeat("x", 100)},
		{"invoice\u202efdp.exe", "", "invoicefdp.exe"}, // shown as "invoiceexe.pdf" with the override
		{"a\u2066b\u2069\u200fc\u061c", "", "abc"},
	}
	for _, c := range cases {
		if got := SafeFileName(c.in, "message", c.ext); got != c.want {
			t.Errorf("SafeFileName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if cd := ContentDisposition("Grüße.eml"); !strings.HasPrefix(cd, "attachment; filename*=utf-8''Gr%C3%BC") {
		t.Errorf("non-ASCII disposition %q", cd)
	}
}

func TestSearchTextAndTooLarge(t *testing.T) {
	raw := crlf("Subject: s\nContent-Type: text/html\n\n<p>Hello <b>searchable</b> world</p>\n")
	if got := SearchText(mustParse(t, raw)); !strings.Contains(got, "searchable") || strings.Contains(got, "<b>") {
		t.Errorf("search text %q", got)
	}
	big := append(crlf("Subject: big\nContent-Type: text/plain\n\n"), make([]byte, MaxParse+1)...)
	m, err := Parse(big)
	if err != nil {
		t.Fatal(err)
	}
	if !m.TooLarge || m.Headers.Subject != "big" || len(m.Attachments()) != 0 {
		t.Errorf("too large: %v %q", m.TooLarge, m.Headers.Subject)
	}
}

func mustParse(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRelativeLinksDropped: a message has no base of its own, so a
// relative link would lead into this server: only links within the
// message (#name) and absolute ones keep their address.
func TestRelativeLinksDropped(t *testing.T) {
	m := mustParse(t, crlf("Subject: x\nContent-Type: text/html\n\n"+
		`<a href="../../admin/restores">a</a><a href="?tag=1">b</a><a href="#top">c</a><a href="https://example.com/">d</a>`+"\n"))
	got := m.SanitizedHTML(false).HTML
	for _, want := range []string{`<a rel="nofollow noreferrer">a</a>`, `<a rel="nofollow noreferrer">b</a>`, `href="#top"`, `href="https://example.com/"`} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

// TestBidiControlsNeutralised: an attachment name or a header holding
// bidirectional controls (U+202E makes "invoice\u202efdp.exe" show as
// "invoiceexe.pdf") is listed and shown without them.
func TestBidiControlsNeutralised(t *testing.T) {
	raw := crlf("Subject: pay \u202etxt.exe\nFrom: x@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/octet-stream\n" +
		"Content-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe\n\nMZ\n--b--\n")
	m := mustParse(t, raw)
	as := m.Attachments()
	if len(as) != 1 || as[0].FileName != "invoicefdp.exe" || m.Headers.Subject != "pay txt.exe" {
		t.Errorf("attachments %+v, subject %q", as, m.Headers.Subject)
	}
}

func TestShownName(t *testing.T) {
	if got := ShownName("Bills \u202efdp.exe \u2066x\u2069"); got != "Bills fdp.exe x" {
		t.Errorf("ShownName: %q", got)
	}
}

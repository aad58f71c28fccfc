package render

import (
	"bytes"
	"net/url"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// policy is the HTML sanitizer: bluemonday's user-content policy, with the
// inline styles mail layouts use (values checked by bluemonday; no url(),
// so no CSS-loaded resources), cid: and data: images, and links that open
// in a new tab without referrer. Scripts, styles sheets, forms, frames,
// objects, SVG, event handlers and javascript: URLs never pass it.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	p.AllowDataURIImages()
	p.AllowAttrs("align", "valign", "bgcolor", "color").Globally()
	p.AllowAttrs("border", "cellpadding", "cellspacing").OnElements("table")
	p.AllowElements("font", "center")
	p.AllowAttrs("face", "size").OnElements("font")
	p.AllowStyles("color", "background-color", "font-size", "font-weight", "font-style", "font-family",
		"text-align", "text-decoration", "vertical-align", "line-height", "white-space",
		"margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
		"padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
		"border", "border-top", "border-bottom", "border-left", "border-right", "border-collapse",
		"width", "max-width", "min-width", "height", "display").Globally()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// Body is a sanitized HTML body.
type Body struct {
	HTML         string // sanitized fragment, safe to put in a document
	RemoteImages int    // remote images found (blocked unless allowed)
}

// SanitizedHTML sanitizes the HTML body. cid: images become relative URLs
// "cid/<id>" (the document is served next to them); remote images are
// dropped, their address kept in data-mtm-src, unless remote is true.
func (m *Message) SanitizedHTML(remote bool) Body {
	clean := policy().Sanitize(m.env.HTML)
	nodes, err := html.ParseFragment(strings.NewReader(clean), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return Body{HTML: html.EscapeString(m.env.Text)}
	}
	var b Body
	var out bytes.Buffer
	for _, n := range nodes {
		walk(n, func(n *html.Node) {
			if n.Type == html.ElementNode && n.DataAtom == atom.Img {
				rewriteImg(n, remote, &b.RemoteImages)
			}
			if n.Type == html.ElementNode && n.DataAtom == atom.A {
				dropRelativeHref(n)
			}
		})
		if err := html.Render(&out, n); err != nil {
			return Body{HTML: html.EscapeString(m.env.Text)}
		}
	}
	b.HTML = out.String()
	return b
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func rewriteImg(n *html.Node, remote bool, count *int) {
	for i := range n.Attr {
		a := &n.Attr[i]
		if a.Key != "src" {
			continue
		}
		u, err := url.Parse(a.Val)
		switch {
		case err != nil:
			a.Val = ""
		case strings.EqualFold(u.Scheme, "cid"):
			id, err := url.PathUnescape(u.Opaque) // RFC 2392: the URL form is %-encoded
			if err != nil {
				id = u.Opaque
			}
			a.Val = "cid/" + url.PathEscape(id)
		case strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"):
			*count++
			if !remote {
				a.Key = "data-mtm-src"
			}
		case strings.EqualFold(u.Scheme, "data"):
		default:
			a.Val = "" // relative: would load from this server
		}
	}
}

// dropRelativeHref removes a link's relative address: a message has no
// base of its own, so it would lead into this server. A link within the
// message (#name) stays.
func dropRelativeHref(n *html.Node) {
	for i := 0; i < len(n.Attr); i++ {
		if a := n.Attr[i]; a.Key == "href" && !strings.HasPrefix(a.Val, "#") {
			if u, err := url.Parse(a.Val); err != nil || u.Scheme == "" {
				n.Attr = append(n.Attr[:i], n.Attr[i+1:]...)
				i--
			}
		}
	}
}

// documentStyle is the style sheet of the body document.
const documentStyle = `body{margin:8px;font:14px/1.4 sans-serif;color:#222;background:#fff;overflow-wrap:anywhere}` +
	`img{max-width:100%;height:auto}pre{white-space:pre-wrap}`

// Document returns a complete HTML document holding the sanitized body, for
// a sandboxed frame.
func (m *Message) Document(remote bool) (string, Body) {
	b := m.SanitizedHTML(remote)
	return `<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<base target="_blank"><style>` + documentStyle + `</style></head><body>` + b.HTML + `</body></html>`, b
}

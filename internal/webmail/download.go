package webmail

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"

	"mtm/internal/catalog"
	"mtm/internal/render"
)

// bodyCSP is the policy of a message body document: no script at all,
// inline styles, images from this server (cid parts) and data: URLs only.
const bodyCSP = "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; " +
	"font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"

// remoteCSP is bodyCSP once the user has asked for remote images.
const remoteCSP = "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https: http:; " +
	"font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"

// partCSP is the policy of downloaded parts, should a browser render one.
const partCSP = "default-src 'none'; sandbox"

// messageRaw sends the exact stored bytes as a .eml download, or the bytes
// of an attached message.
// auditDownload records that a message's bytes, or a part's, left the
// server for its user (the audit log: every download, View source and
// PDF preview included; image previews are not downloads).
func (s *Server) auditDownload(r *http.Request, t target, what string) {
	s.audit(r.Context(), catalog.AuditEvent{Actor: t.u.address, Role: catalog.RoleUser, Client: s.clientIP(r),
		Action: "download", Account: t.u.address,
		Detail: fmt.Sprintf("%s of message %d of %s in %s", what, t.msg.EntryID, t.snap.Day, t.folder)})
}

func (s *Server) messageRaw(w http.ResponseWriter, r *http.Request, t target) {
	// A subject is no path: its slashes are kept as "_", not cut at.
	name := render.SafeFileName(strings.NewReplacer("/", "_", `\`, "_").Replace(t.msg.Subject), "message", ".eml")
	what := "the whole message"
	if len(t.parts) > 0 {
		what = fmt.Sprintf("attached message %v", t.parts)
	}
	s.auditDownload(r, t, what)
	if len(t.parts) > 0 {
		s.attachedRaw(w, r, t)
		return
	}
	rc, err := s.opts.Blobs.Open(r.Context(), t.msg.Hash)
	if err != nil {
		s.fail(w, r, fmt.Errorf("opening message %d: %w", t.msg.EntryID, err))
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", partCSP)
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Disposition", render.ContentDisposition(name))
	h.Set("Content-Length", strconv.FormatInt(t.msg.Size, 10))
	_, err = io.Copy(w, rc)
	if err = errors.Join(err, rc.Close()); err != nil && r.Context().Err() == nil {
		s.log.Error("webmail: sending message", "id", t.msg.EntryID, "err", err)
	}
}

func (s *Server) attachedRaw(w http.ResponseWriter, r *http.Request, t target) {
	outer := t
	outer.parts = t.parts[:len(t.parts)-1]
	m, err := s.parsed(r, outer)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, b, err := m.Part(t.parts[len(t.parts)-1])
	if err != nil || !a.IsMessage {
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return
	}
	sendPart(w, "message/rfc822", render.SafeFileName(a.FileName, "attached", ".eml"), b)
}

func sendPart(w http.ResponseWriter, ctype, name string, b []byte) {
	h := w.Header()
	h.Set("Content-Security-Policy", partCSP)
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", render.ContentDisposition(name))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b) // the client went away: nothing to do
}

// messageBody sends the sanitized HTML body (or the text, escaped) as a
// document for the sandboxed frame; ?remote=1 lets remote images load.
func (s *Server) messageBody(w http.ResponseWriter, r *http.Request, t target) {
	m, err := s.parsed(r, t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	remote := r.URL.Query().Get("remote") == "1"
	doc, _ := m.Document(remote)
	h := w.Header()
	h.Set("Content-Security-Policy", map[bool]string{false: bodyCSP, true: remoteCSP}[remote])
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	_, _ = io.WriteString(w, doc)
}

// printCSP is bodyCSP with this server's scripts allowed: the print page
// runs /static/print.js, and nothing of the message can run (no inline
// script, no other source).
const printCSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; " +
	"font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// messagePrint sends a page to print the message: its headers, then its
// sanitized body (or its text), and a script that opens the print dialog.
func (s *Server) messagePrint(w http.ResponseWriter, r *http.Request, t target) {
	m, err := s.parsed(r, t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.lang(w, r, "")
	esc := html.EscapeString
	var b strings.Builder
	subject := m.Headers.Subject
	if subject == "" {
		subject = t.msg.Subject
	}
	fmt.Fprintf(&b, `<!DOCTYPE html><html lang="%s"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">`+
		`<title>%s</title><style>body{font-family:sans-serif;margin:1.5em}table.h{border-collapse:collapse;margin-bottom:1em}`+
		`table.h th{text-align:left;padding:.1em 1em .1em 0;color:#555;font-weight:normal}pre{white-space:pre-wrap}`+
		`img{max-width:100%%}</style></head><body><h1 style="font-size:1.3em">%s</h1><table class="h">`,
		esc(l.Code), esc(subject), esc(subject))
	for _, row := range [][2]string{{l.T("js.h_from"), m.Headers.From}, {l.T("js.h_to"), m.Headers.To},
		{l.T("js.h_cc"), m.Headers.Cc}, {l.T("js.h_date"), m.Headers.Date}} {
		if row[1] != "" {
			fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>", esc(row[0]), esc(row[1]))
		}
	}
	b.WriteString("</table><hr>")
	if m.HasHTML() {
		b.WriteString(m.SanitizedHTML(false).HTML)
	} else {
		fmt.Fprintf(&b, "<pre>%s</pre>", esc(m.Text()))
	}
	b.WriteString(`<script src="/static/print.js"></script></body></html>`)
	h := w.Header()
	h.Set("Content-Security-Policy", printCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	_, _ = io.WriteString(w, b.String())
}

// rasterImages are the image types shown inline (cid: URLs) and as
// attachment previews; SVG is not one, as it can carry scripts.
var rasterImages = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/bmp": true, "image/x-icon": true, "image/avif": true}

// previewOf says how the webmail previews an attachment: "image" (served
// by ?view=1), "pdf" (drawn in the sandboxed /pdfview frame from its
// download), or "" when it is only downloaded.
func previewOf(a render.Attachment) string {
	ctype := strings.ToLower(a.ContentType)
	switch {
	case rasterImages[ctype]:
		return "image"
	case ctype == "application/pdf" || ctype == "application/x-pdf",
		ctype == "application/octet-stream" && strings.HasSuffix(strings.ToLower(a.FileName), ".pdf"):
		return "pdf"
	}
	return ""
}

func (s *Server) messageCID(w http.ResponseWriter, r *http.Request, t target) {
	m, err := s.parsed(r, t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, b, err := m.ByContentID(r.PathValue("cid"))
	ctype := strings.ToLower(a.ContentType)
	if err != nil || !rasterImages[ctype] {
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return
	}
	sendImage(w, ctype, b)
}

// sendImage sends a raster image part as itself, for an <img>: sandboxed
// should a browser open it as a page, never sniffed into another type.
func sendImage(w http.ResponseWriter, ctype string, b []byte) {
	h := w.Header()
	h.Set("Content-Security-Policy", partCSP)
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(b)
}

// messageAttachment sends part {n}, always as an octet-stream download.
func (s *Server) messageAttachment(w http.ResponseWriter, r *http.Request, t target) {
	m, err := s.parsed(r, t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return
	}
	a, b, err := m.Part(n)
	if err != nil {
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return
	}
	// ?view=1: a raster image shown as a preview (never SVG, which can
	// carry scripts); anything else only downloads.
	if r.URL.Query().Get("view") == "1" {
		if previewOf(a) != "image" {
			s.apiError(w, r, http.StatusNotFound, "api.not_found")
			return
		}
		sendImage(w, strings.ToLower(a.ContentType), b)
		return
	}
	s.auditDownload(r, t, fmt.Sprintf("attachment %d", n))
	sendPart(w, "application/octet-stream", render.SafeFileName(a.FileName, "attachment-"+strconv.Itoa(n), ""), b)
}

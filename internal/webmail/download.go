package webmail

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"mtm/internal/render"
	"mtm/internal/web"
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
func (s *Server) messageRaw(w http.ResponseWriter, r *http.Request, t target) {
	// A subject is no path: its slashes are kept as "_", not cut at.
	name := render.SafeFileName(strings.NewReplacer("/", "_", `\`, "_").Replace(t.msg.Subject), "message", ".eml")
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
		web.WriteError(w, http.StatusNotFound, "not found")
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

// rasterImages are the inline image types served for cid: URLs; SVG is
// not one, as it can carry scripts.
var rasterImages = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/bmp": true, "image/x-icon": true, "image/avif": true}

func (s *Server) messageCID(w http.ResponseWriter, r *http.Request, t target) {
	m, err := s.parsed(r, t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, b, err := m.ByContentID(r.PathValue("cid"))
	ctype := strings.ToLower(a.ContentType)
	if err != nil || !rasterImages[ctype] {
		web.WriteError(w, http.StatusNotFound, "not found")
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", partCSP)
	h.Set("Content-Type", ctype)
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
		web.WriteError(w, http.StatusNotFound, "not found")
		return
	}
	a, b, err := m.Part(n)
	if err != nil {
		web.WriteError(w, http.StatusNotFound, "not found")
		return
	}
	sendPart(w, "application/octet-stream", render.SafeFileName(a.FileName, "attachment-"+strconv.Itoa(n), ""), b)
}

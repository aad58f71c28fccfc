package webmail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"mtm/internal/catalog"
	"mtm/internal/render"
	"mtm/internal/web"
)

// target is the message a content route names: a message of the snapshot,
// or a message attached to it (path of attachment indexes).
type target struct {
	u      who
	snap   catalog.Snapshot
	msg    catalog.Message
	folder string
	parts  []int // attached-message path; empty: the stored message itself
}

// withMessage resolves {mid} in the snapshot's view, and {part} when the
// route has one.
func (s *Server) withMessage(h func(http.ResponseWriter, *http.Request, target)) http.HandlerFunc {
	return s.withSnapshot(func(w http.ResponseWriter, r *http.Request, u who, snap catalog.Snapshot) {
		mid, err := strconv.ParseInt(r.PathValue("mid"), 10, 64)
		if err != nil {
			s.apiError(w, r, http.StatusNotFound, "api.not_found")
			return
		}
		m, err := s.opts.Catalog.MessageInView(r.Context(), snap, mid)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		t := target{u: u, snap: snap, msg: m}
		if p := r.PathValue("part"); p != "" {
			for _, f := range strings.Split(p, ".") {
				n, err := strconv.Atoi(f)
				if err != nil || n < 0 || len(t.parts) >= 16 {
					s.apiError(w, r, http.StatusNotFound, "api.not_found")
					return
				}
				t.parts = append(t.parts, n)
			}
		}
		if fs, err := s.folders(r, snap); err == nil {
			for _, f := range fs {
				if f.MailboxID == m.MailboxID {
					t.folder = f.Name
				}
			}
		}
		h(w, r, t)
	})
}

// maxCachedParse is the largest message kept parsed in the cache: 64 of
// them at most, so a few MiB each.
const maxCachedParse = 2 << 20

// parsed returns the target message parsed: the stored one, or the
// attached message its part path names.
func (s *Server) parsed(r *http.Request, t target) (*render.Message, error) {
	m, ok := s.cache.parsed.get(t.msg.Hash)
	if !ok {
		raw, err := s.readBlob(r, t.msg, render.MaxParse)
		if err != nil {
			return nil, err
		}
		if t.msg.Size > render.MaxParse {
			m, err = render.ParseHead(raw)
		} else {
			m, err = s.opts.Parser.Parse(r.Context(), raw)
		}
		if err != nil {
			return nil, err
		}
		if t.msg.Size <= maxCachedParse { // the cache's memory stays bounded
			s.cache.parsed.put(t.msg.Hash, m)
		}
	}
	for _, i := range t.parts {
		next, err := m.Attached(i)
		if err != nil {
			return nil, fmt.Errorf("part %v: %w", t.parts, catalog.ErrNotFound)
		}
		m = next
	}
	return m, nil
}

// readBlob reads up to limit bytes of the message (1 MiB of its head when
// it is larger than limit).
func (s *Server) readBlob(r *http.Request, m catalog.Message, limit int64) ([]byte, error) {
	rc, err := s.opts.Blobs.Open(r.Context(), m.Hash)
	if err != nil {
		return nil, fmt.Errorf("opening message %d: %w", m.EntryID, err)
	}
	n := m.Size
	if n > limit {
		n = 1 << 20
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	_, err = io.Copy(buf, io.LimitReader(rc, n))
	if err := errors.Join(err, rc.Close()); err != nil {
		return nil, fmt.Errorf("reading message %d: %w", m.EntryID, err)
	}
	return buf.Bytes(), nil
}

type detailJSON struct {
	messageJSON
	Headers      render.Headers   `json:"headers"`
	Text         string           `json:"text"`
	HTML         string           `json:"html"`
	HasHTML      bool             `json:"has_html"`
	RemoteImages int              `json:"remote_images"`
	Attachments  []attachmentJSON `json:"attachments"`
	TooLarge     bool             `json:"too_large"`
	Problems     []string         `json:"problems"`
	Unreadable   bool             `json:"unreadable"`  // not MIME: text is the raw message
	TooComplex   bool             `json:"too_complex"` // nested too deep to read: text is the raw message
	Base         string           `json:"base"`        // URL prefix of this message's body, raw and parts
}

// attachmentJSON is an attachment as the webmail lists it: with the way
// it can be previewed.
type attachmentJSON struct {
	render.Attachment
	Preview string `json:"preview,omitempty"` // "image", "pdf" (previewOf), or none: download only
}

func (s *Server) messageDetail(w http.ResponseWriter, r *http.Request, t target) {
	m, err := s.parsed(r, t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := detailJSON{messageJSON: s.messageJSON(t.msg, t.folder), Headers: m.Headers, TooLarge: m.TooLarge,
		Problems: m.Problems, Unreadable: m.Unreadable, TooComplex: m.TooComplex, Base: base(t)}
	if d.Problems == nil {
		d.Problems = []string{}
	}
	d.Attachments = []attachmentJSON{}
	if !m.TooLarge {
		d.Text, d.HasHTML = m.Text(), m.HasHTML()
		for _, a := range m.Attachments() {
			d.Attachments = append(d.Attachments, attachmentJSON{Attachment: a, Preview: previewOf(a)})
		}
		if d.HasHTML {
			b := m.SanitizedHTML(false)
			d.HTML, d.RemoteImages = b.HTML, b.RemoteImages
		}
	}
	if len(t.parts) > 0 { // an attached message: its headers, not the stored summary
		d.Subject, d.From, d.To = m.Headers.Subject, m.Headers.From, m.Headers.To
	}
	web.WriteJSON(w, http.StatusOK, d)
}

// base is the URL path of the target's routes.
func base(t target) string {
	b := fmt.Sprintf("/api/v1/snapshots/%d/messages/%d", t.snap.ID, t.msg.EntryID)
	if len(t.parts) > 0 {
		ps := make([]string, len(t.parts))
		for i, p := range t.parts {
			ps[i] = strconv.Itoa(p)
		}
		b += "/parts/" + strings.Join(ps, ".")
	}
	return b
}

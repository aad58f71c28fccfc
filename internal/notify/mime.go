package notify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"unicode"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// build writes the message: a multipart/alternative of text/plain and
// text/html, both UTF-8 and quoted-printable (RFC 2045, 2046), with every
// header set through go-message so that it is encoded (RFC 2047) and
// folded as needed.
func (r *Renderer) build(m Message, replyTo []string, text, html string) ([]byte, error) {
	var h mail.Header
	h.SetDate(r.clk.Now().In(r.loc))
	h.SetAddressList("From", []*mail.Address{r.from})
	h.SetAddressList("To", []*mail.Address{{Address: m.To}})
	if len(replyTo) > 0 { // a reply reaches the user's admins, never mtm
		var to []*mail.Address
		for _, a := range replyTo {
			if checkAddress(a) == nil {
				to = append(to, &mail.Address{Address: a})
			}
		}
		if len(to) > 0 {
			h.SetAddressList("Reply-To", to)
		}
	}
	h.SetSubject(m.Subject)
	h.SetMessageID(m.MessageID)
	h.Set("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	boundary, err := r.token(12)
	if err != nil {
		return nil, err
	}
	h.SetContentType("multipart/alternative", map[string]string{"boundary": "mtm-" + boundary})

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		var ph message.Header
		ph.SetContentType(p.typ, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := w.CreatePart(ph)
		if err != nil {
			return nil, errors.Join(err, w.Close())
		}
		if _, err := io.WriteString(pw, p.body); err != nil {
			return nil, errors.Join(err, pw.Close(), w.Close())
		}
		if err := pw.Close(); err != nil {
			return nil, errors.Join(err, w.Close())
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// token returns n random bytes in hex.
func (r *Renderer) token(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r.rand, b); err != nil {
		return "", fmt.Errorf("notify: reading random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// checkAddress accepts only a bare ASCII address (local@domain) that
// net/mail parses back to itself: no display name, no comment, no
// whitespace or control characters, nothing that could end a header or an
// SMTP command.
func checkAddress(addr string) error {
	for _, c := range addr {
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == ',' {
			return fmt.Errorf("%q is not a plain ASCII address", addr)
		}
	}
	a, err := netmail.ParseAddress(addr)
	if err != nil {
		return fmt.Errorf("%q is not an address: %w", addr, err)
	}
	if a.Name != "" || a.Address != addr || strings.Count(addr, "@") != 1 {
		return fmt.Errorf("%q is not a bare address", addr)
	}
	return nil
}

// domain returns the part of addr after the @.
func domain(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}

// maxLine and maxParagraph bound what a value can add to an email.
const (
	maxLine      = 300
	maxParagraph = 4000
)

// hostile reports characters that must not reach a one-line value: control
// characters (CR and LF among them), Unicode line and paragraph separators,
// and bidirectional controls that could reorder what a reader sees.
func hostile(c rune) bool {
	return unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || unicode.Is(unicode.Bidi_Control, c)
}

// oneLine makes s safe to show on one line: each hostile character becomes
// U+FFFD, and s is cut at maxLine characters.
func oneLine(s string) string {
	return cut(strings.Map(func(c rune) rune {
		if hostile(c) {
			return '\uFFFD'
		}
		return c
	}, s), maxLine)
}

// paragraph keeps the lines of s (CRLF and CR become LF) and tabs, replaces
// other hostile characters with U+FFFD, trims trailing space and cuts it at
// maxParagraph characters.
func paragraph(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.Map(func(c rune) rune {
		if c != '\n' && c != '\t' && hostile(c) {
			return '\uFFFD'
		}
		return c
	}, s)
	return cut(strings.TrimRightFunc(s, unicode.IsSpace), maxParagraph)
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// cut shortens s to at most n characters, marking the cut with an ellipsis.
func cut(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

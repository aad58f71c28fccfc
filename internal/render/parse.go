package render

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
	"golang.org/x/text/encoding/charmap"
)

// MaxParse is the largest message parsed; a larger one shows its headers
// only and is read through its raw download.
const MaxParse = 32 << 20

// ErrNoPart: no such part, or not an attached message.
var ErrNoPart = errors.New("no such part")

// Headers are the decoded headers shown above a message.
type Headers struct {
	Subject   string    `json:"subject"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Cc        string    `json:"cc"`
	ReplyTo   string    `json:"reply_to"`
	Date      string    `json:"date"`          // the Date: header as written
	Time      time.Time `json:"time,omitzero"` // Date: parsed, if it parses
	MessageID string    `json:"message_id"`
}

// Attachment describes one non-body part.
type Attachment struct {
	Index       int    `json:"index"`
	FileName    string `json:"file_name"` // as the message names it: escape before display
	ContentType string `json:"content_type"`
	Size        int    `json:"size"` // decoded bytes
	Inline      bool   `json:"inline"`
	ContentID   string `json:"content_id,omitempty"`
	IsMessage   bool   `json:"is_message"` // message/rfc822: viewable as a message
}

// Message is a parsed message.
type Message struct {
	env      *enmime.Envelope
	parts    []*enmime.Part
	Headers  Headers
	TooLarge bool     // over MaxParse: headers only
	Problems []string // what the parser found broken
	// Unreadable: not even the header parses as MIME; Text is the raw
	// message, for a person to read, and there are no parts.
	Unreadable bool
	// TooComplex: nested deeper than MaxDepth or of more than MaxParts
	// parts, so not parsed: Headers are read, Text is the raw message
	// (its first MiB), and there are no parts.
	TooComplex bool
}

// ParseHead parses the first bytes of a message over MaxParse, for its
// headers only: the result is TooLarge and has no body or parts.
func ParseHead(head []byte) (*Message, error) { return parse(head, true) }

// Parse parses raw. A message that is not MIME at all comes back
// Unreadable, its raw text as its Text: a stored message always opens.
func Parse(raw []byte) (*Message, error) { return parse(raw, len(raw) > MaxParse) }

func parse(raw []byte, tooLarge bool) (*Message, error) {
	m := &Message{TooLarge: tooLarge}
	src := raw
	if tooLarge {
		if end := headerEnd(raw); end >= 0 && end < 1<<20 {
			src = raw[:end]
		} else {
			src = raw[:min(len(raw), 1<<20)]
		}
	}
	sh := scanShape(src)
	if sh.depth > MaxDepth || sh.parts > MaxParts {
		problem := fmt.Sprintf("nested more than %d levels deep: not read", MaxDepth)
		if sh.parts > MaxParts {
			problem = fmt.Sprintf("more than %d parts: not read", MaxParts)
		}
		return tooComplex(src, problem, tooLarge), nil
	}
	if sh.repaired != nil {
		src = sh.repaired
	}
	env, err := readEnvelope(src)
	if err != nil {
		return &Message{TooLarge: tooLarge, Unreadable: true, env: &enmime.Envelope{Text: repair(string(src))},
			Problems: []string{oneLine(fmt.Sprintf("not a MIME message: %v", err))}}, nil
	}
	m.env = env
	for _, e := range env.Errors {
		m.Problems = append(m.Problems, oneLine(e.Error()))
	}
	if !m.TooLarge {
		m.parts = append(append(append(m.parts, env.Attachments...), env.Inlines...), leaves(env.OtherParts)...)
	}
	m.Headers = headers(env)
	return m, nil
}

// headerEnd is where raw's header ends, after its first empty line (LF
// or CRLF), or -1 when it has none.
func headerEnd(raw []byte) int {
	end := -1
	if i := bytes.Index(raw, []byte("\n\r\n")); i >= 0 {
		end = i + 3
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 && (end < 0 || i+2 < end) {
		end = i + 2
	}
	return end
}

// tooComplex is src not parsed, for the reason problem: its header read
// alone, its raw text shown.
func tooComplex(src []byte, problem string, tooLarge bool) *Message {
	head := src
	if end := headerEnd(src); end >= 0 {
		head = src[:end]
	}
	m := &Message{TooLarge: tooLarge, TooComplex: true, Problems: []string{problem},
		env: &enmime.Envelope{Text: repair(string(src[:min(len(src), 1<<20)]))}}
	// The header alone holds no parts: the parser reads it at once.
	if env, err := declared.ReadEnvelope(bytes.NewReader(head)); err == nil {
		m.Headers = headers(env)
	}
	return m
}

// Parsers: a text part's declared charset is used when it decodes the
// part validly; guessing the charset from the bytes is for parts that
// declare none, or whose declaration does not fit their bytes (UTF-8
// declared over Windows-1252, say). Guessing first, as the parser does by
// default, garbles short texts in a declared, correct UTF-8.
var (
	declared = enmime.NewParser(enmime.SkipMalformedParts(true), enmime.DisableCharacterDetection(true),
		enmime.SetCustomParseMediaType(asciiAsUTF8))
	guessing = enmime.NewParser(enmime.SkipMalformedParts(true))
)

// readEnvelope parses with the declared charsets, and again guessing them
// when a text part's declaration left bytes that are not valid UTF-8. When
// the guess is not sure enough either, the bytes that are not UTF-8 are
// read as Windows-1252, the charset most often mislabelled.
func readEnvelope(src []byte) (*enmime.Envelope, error) {
	env, err := declared.ReadEnvelope(bytes.NewReader(src))
	if err != nil || env.Root == nil || !misdeclared(env.Root) {
		return env, err
	}
	if env, err = guessing.ReadEnvelope(bytes.NewReader(src)); err != nil {
		return nil, err
	}
	env.Text, env.HTML = repair(env.Text), repair(env.HTML)
	return env, nil
}

// repair keeps the valid UTF-8 of s and reads each other byte as
// Windows-1252.
func repair(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			r = charmap.Windows1252.DecodeByte(s[0])
		}
		b.WriteRune(r)
		s = s[n:]
	}
	return b.String()
}

// misdeclared tells whether a text part of the tree decoded to invalid
// UTF-8.
func misdeclared(p *enmime.Part) bool {
	for ; p != nil; p = p.NextSibling {
		if strings.HasPrefix(p.ContentType, "text/") && !utf8.Valid(p.Content) {
			return true
		}
		if misdeclared(p.FirstChild) {
			return true
		}
	}
	return false
}

// asciiAsUTF8 parses a Content-Type as the parser does, reading a
// declared US-ASCII (also the default of a part without one) as UTF-8, its
// superset: the same text when the bytes are ASCII, and the right one when
// they are the UTF-8 such parts most often hold. The parser would read
// them as Windows-1252, as browsers do, which garbles that UTF-8 into
// valid-looking "GrÃ¼ÃŸe"; bytes that are not UTF-8 either still go to the
// guessing parse.
func asciiAsUTF8(ctype string) (string, map[string]string, []string, error) {
	mtype, params, invalid, err := mediatype.Parse(ctype)
	if cs, ok := params["charset"]; ok {
		switch strings.ToLower(strings.TrimSpace(cs)) {
		case "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "csascii":
			params["charset"] = "utf-8"
		}
	}
	return mtype, params, invalid, err
}

// leaves keeps the parts that hold content, not multipart containers.
func leaves(ps []*enmime.Part) []*enmime.Part {
	var out []*enmime.Part
	for _, p := range ps {
		if p.FirstChild == nil && !strings.HasPrefix(p.ContentType, "multipart/") {
			out = append(out, p)
		}
	}
	return out
}

func headers(env *enmime.Envelope) Headers {
	h := Headers{
		Subject:   oneLine(env.GetHeader("Subject")),
		From:      oneLine(env.GetHeader("From")),
		To:        oneLine(env.GetHeader("To")),
		Cc:        oneLine(env.GetHeader("Cc")),
		ReplyTo:   oneLine(env.GetHeader("Reply-To")),
		Date:      oneLine(env.GetHeader("Date")),
		MessageID: oneLine(env.GetHeader("Message-Id")),
	}
	if t, err := mail.ParseDate(h.Date); err == nil {
		h.Time = t
	}
	return h
}

// oneLine removes control characters (CR, LF, NUL, ...) from a header value.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f:
			return ' '
		case unicode.Is(unicode.Bidi_Control, r):
			return -1 // U+202E and its kind would show "invoice‮fdp.exe" as "invoiceexe.pdf"
		}
		return r
	}, s)
}

// Text is the plain-text body (converted from HTML when there is no text
// part).
func (m *Message) Text() string { return m.env.Text }

// HasHTML tells whether the message has an HTML body.
func (m *Message) HasHTML() bool { return m.env.HTML != "" }

// Attachments lists the message's non-body parts; Index is their position.
func (m *Message) Attachments() []Attachment {
	out := make([]Attachment, 0, len(m.parts))
	for i, p := range m.parts {
		out = append(out, Attachment{
			Index: i, FileName: oneLine(p.FileName), ContentType: oneLine(p.ContentType), Size: len(p.Content),
			Inline:    p.Disposition == "inline" || (p.Disposition == "" && p.ContentID != ""),
			ContentID: oneLine(p.ContentID), IsMessage: strings.EqualFold(p.ContentType, "message/rfc822"),
		})
	}
	return out
}

// Part returns the description and decoded bytes of part i.
func (m *Message) Part(i int) (Attachment, []byte, error) {
	if i < 0 || i >= len(m.parts) {
		return Attachment{}, nil, ErrNoPart
	}
	return m.Attachments()[i], m.parts[i].Content, nil
}

// ByContentID returns the part whose Content-ID is cid (without <>).
func (m *Message) ByContentID(cid string) (Attachment, []byte, error) {
	for i, p := range m.parts {
		if p.ContentID != "" && strings.Trim(p.ContentID, "<>") == cid {
			return m.Part(i)
		}
	}
	return Attachment{}, nil, ErrNoPart
}

// Attached parses part i as a message, for a message/rfc822 attachment.
func (m *Message) Attached(i int) (*Message, error) {
	a, b, err := m.Part(i)
	if err != nil {
		return nil, err
	}
	if !a.IsMessage {
		return nil, ErrNoPart
	}
	return Parse(b)
}

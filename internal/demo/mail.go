package demo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// Message is one generated message: its exact bytes and how it is
// appended.
type Message struct {
	Raw   []byte
	Date  time.Time // INTERNALDATE, also the Date header
	Flags []imap.Flag
	// What a reply needs.
	ID      string // Message-ID without <>
	Subject string
	From    Person
	To      Person
	Refs    []string // References of this message, without <>
}

// Generator makes realistic messages from a seeded random source: the
// same seed and the same calls give the same bytes.
type Generator struct {
	rng    *rand.Rand
	n      int
	logos  [][]byte
	photos [][]byte
	shots  [][]byte // PNG screenshots
}

// NewGenerator returns a generator seeded with seed. It draws a few
// pictures once; messages reuse them.
func NewGenerator(seed uint64) (*Generator, error) {
	g := &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x6d746d))}
	for range len(newsletters) {
		b, err := Logo(g.rng)
		if err != nil {
			return nil, err
		}
		g.logos = append(g.logos, b)
	}
	for range 6 {
		b, err := JPEG(g.rng, 240, 160)
		if err != nil {
			return nil, err
		}
		g.photos = append(g.photos, b)
		if b, err = PNG(g.rng, 120, 80); err != nil {
			return nil, err
		}
		g.shots = append(g.shots, b)
	}
	return g, nil
}

// part is a MIME entity: a leaf with a body, or a multipart with parts.
type part struct {
	header message.Header
	body   []byte
	parts  []part
}

func textPart(s string) part {
	var h message.Header
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return part{header: h, body: []byte(s)}
}

func htmlPart(s string) part {
	var h message.Header
	h.SetContentType("text/html", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return part{header: h, body: []byte(s)}
}

// filePart is an attachment, or an inline part named by cid when cid is
// set.
func filePart(ctype, name string, data []byte, cid string) part {
	var h message.Header
	h.SetContentType(ctype, map[string]string{"name": name})
	h.Set("Content-Transfer-Encoding", "base64")
	disp := "attachment"
	if cid != "" {
		disp = "inline"
		h.Set("Content-ID", "<"+cid+">")
	}
	h.SetContentDisposition(disp, map[string]string{"filename": name})
	return part{header: h, body: data}
}

func (g *Generator) multipart(sub string, parts ...part) part {
	var h message.Header
	h.SetContentType("multipart/"+sub, map[string]string{"boundary": fmt.Sprintf("=_mtm_%016x", g.rng.Uint64())})
	return part{header: h, parts: parts}
}

// envelope is the top-level header of a message.
type envelope struct {
	from     Person
	to       []Person
	subject  string
	date     time.Time
	inReply  string
	refs     []string
	list     string // List-Unsubscribe of newsletters
	priority bool
}

// compose writes a complete message of env and body, CRLF throughout.
func (g *Generator) compose(env envelope, body part) (Message, error) {
	g.n++
	domain := env.from.Addr[strings.LastIndexByte(env.from.Addr, '@')+1:]
	id := fmt.Sprintf("%d.%08x@%s", g.n, g.rng.Uint32(), domain)
	h := mail.Header{Header: body.header.Copy()}
	h.SetAddressList("From", []*mail.Address{{Name: env.from.Name, Address: env.from.Addr}})
	to := make([]*mail.Address, len(env.to))
	for i, p := range env.to {
		to[i] = &mail.Address{Name: p.Name, Address: p.Addr}
	}
	h.SetAddressList("To", to)
	h.SetSubject(env.subject)
	h.SetDate(env.date)
	h.SetMessageID(id)
	if env.inReply != "" {
		h.SetMsgIDList("In-Reply-To", []string{env.inReply})
		h.SetMsgIDList("References", env.refs)
	}
	if env.list != "" {
		h.Set("List-Unsubscribe", "<"+env.list+">")
	}
	if env.priority {
		h.Set("X-Priority", "1 (Highest)")
	}
	var b bytes.Buffer
	w, err := message.CreateWriter(&b, h.Header)
	if err != nil {
		return Message{}, fmt.Errorf("composing %q: %w", env.subject, err)
	}
	if err := writeBody(w, body); err != nil {
		return Message{}, fmt.Errorf("composing %q: %w", env.subject, err)
	}
	refs := append(append([]string(nil), env.refs...), id)
	return Message{Raw: b.Bytes(), Date: env.date, ID: id, Subject: env.subject, From: env.from, To: env.to[0], Refs: refs}, nil
}

// writeBody writes p's content (its header is already written) to w and
// closes w.
func writeBody(w *message.Writer, p part) error {
	if len(p.parts) == 0 {
		body := p.body
		if p.header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
		}
		if _, err := w.Write(body); err != nil {
			return err
		}
		return w.Close()
	}
	for _, c := range p.parts {
		cw, err := w.CreatePart(c.header)
		if err != nil {
			return err
		}
		if err := writeBody(cw, c); err != nil {
			return err
		}
	}
	return w.Close()
}

func pick[T any](rng *rand.Rand, l []T) T { return l[rng.IntN(len(l))] }

// paragraph writes n sentences in lang.
func (g *Generator) paragraph(lang string, n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = pick(g.rng, sentences[lang])
	}
	sep := " "
	if lang == "ja" {
		sep = ""
	}
	return strings.Join(s, sep)
}

// letter is a short personal text from one person to another.
func (g *Generator) letter(from, to Person) string {
	first, _, _ := strings.Cut(to.Name, " ")
	if from.Lang == "ja" {
		first = to.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, greetings[from.Lang]+"\n\n", first)
	for i := range 1 + g.rng.IntN(3) {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(g.paragraph(from.Lang, 2+g.rng.IntN(4)))
	}
	fmt.Fprintf(&b, "\n\n%s\n%s\n", signoffs[from.Lang], from.Name)
	return b.String()
}

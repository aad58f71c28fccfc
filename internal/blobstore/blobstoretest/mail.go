package blobstoretest

import (
	"encoding/base64"
	"io"
	"math/rand/v2"
	"strconv"
)

// Mail returns a deterministic mail-like message of exactly size bytes; see
// NewMailReader.
func Mail(seed uint64, size int) []byte {
	b := make([]byte, size)
	if _, err := io.ReadFull(NewMailReader(seed, int64(size)), b); err != nil {
		panic(err) // the reader yields exactly size bytes
	}
	return b
}

// NewMailReader returns a deterministic stream of exactly size bytes that
// looks like a MIME message, for tests and benchmarks that need realistic
// compressibility without a corpus: CRLF header lines with Received and
// DKIM-Signature fields, a text/plain and a text/html part of English-like
// prose, and, past 48 KiB, a base64 attachment of random (incompressible)
// bytes, as large mail usually is. It allocates only a small buffer, so it
// can stream gigabytes. Different seeds give different messages.
func NewMailReader(seed uint64, size int64) io.Reader {
	m := &mailReader{
		rng:  rand.New(rand.NewPCG(seed, 0x6d746d)),
		left: size,
		buf:  make([]byte, 0, 4096),
	}
	m.zipf = rand.NewZipf(m.rng, 1.1, 2, uint64(len(words)-1))
	m.textLeft = min(size, 48<<10) * 2 / 5
	m.htmlLeft = min(size, 48<<10) - m.textLeft
	return m
}

type mailReader struct {
	rng                *rand.Rand
	zipf               *rand.Zipf
	left               int64 // bytes still to return
	stage              int   // 0 headers, 1 text, 2 html, 3 attachment
	textLeft, htmlLeft int64 // approximate budgets of the parts
	buf                []byte
	pos                int
}

const boundary = "----=_Part_4711_0815.1717171717"

func (m *mailReader) Read(p []byte) (int, error) {
	if m.left <= 0 {
		return 0, io.EOF
	}
	if m.pos == len(m.buf) {
		m.buf, m.pos = m.buf[:0], 0
		m.fill()
	}
	n := copy(p, m.buf[m.pos:])
	if int64(n) > m.left {
		n = int(m.left)
	}
	m.pos += n
	m.left -= int64(n)
	return n, nil
}

// fill appends the next piece of the message to m.buf.
func (m *mailReader) fill() {
	switch m.stage {
	case 0:
		m.headers()
		m.buf = append(m.buf, "--"+boundary+"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"...)
		m.stage = 1
	case 1:
		n := len(m.buf)
		m.paragraph("", "")
		m.textLeft -= int64(len(m.buf) - n)
		if m.textLeft <= 0 {
			m.buf = append(m.buf, "\r\n--"+boundary+"\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body style=\"font-family: Arial, sans-serif;\">\r\n"...)
			m.stage = 2
		}
	case 2:
		n := len(m.buf)
		m.paragraph("<p style=\"margin: 0 0 12px 0;\">", "</p>")
		m.htmlLeft -= int64(len(m.buf) - n)
		if m.htmlLeft <= 0 {
			m.buf = append(m.buf, "</body></html>\r\n--"+boundary+"\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n\r\n"...)
			m.stage = 3
		}
	default:
		for range 32 {
			m.base64Line()
		}
	}
}

func (m *mailReader) headers() {
	r := m.rng
	for i := range 3 {
		m.buf = append(m.buf, "Received: from mx"...)
		m.buf = strconv.AppendInt(m.buf, int64(r.IntN(90)+i), 10)
		m.buf = append(m.buf, ".mail.example.net ([10."...)
		m.buf = strconv.AppendInt(m.buf, int64(r.IntN(256)), 10)
		m.buf = append(m.buf, ".0.7])\r\n\tby imap.example.org (Postfix) with ESMTPS id "...)
		m.randHex(10)
		m.buf = append(m.buf, "\r\n\tfor <alice@example.org>; Tue, 4 Jun 2024 08:"...)
		m.buf = strconv.AppendInt(m.buf, int64(10+r.IntN(50)), 10)
		m.buf = append(m.buf, ":31 +0200 (CEST)\r\n"...)
	}
	m.buf = append(m.buf, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=2024;\r\n\th=from:to:subject:date:message-id; bh="...)
	m.base64(32)
	m.buf = append(m.buf, ";\r\n\tb="...)
	for range 4 {
		m.base64(48)
		m.buf = append(m.buf, "\r\n\t "...)
	}
	m.buf = append(m.buf, "\r\nFrom: "...)
	m.buf = append(m.buf, words[m.word()]...)
	m.buf = append(m.buf, " Sender <sender"...)
	m.buf = strconv.AppendInt(m.buf, int64(r.IntN(1000)), 10)
	m.buf = append(m.buf, "@example.net>\r\nTo: Alice <alice@example.org>\r\nSubject: Re: "...)
	for range 3 + r.IntN(6) {
		m.buf = append(m.buf, words[m.word()]...)
		m.buf = append(m.buf, ' ')
	}
	m.buf = append(m.buf, "\r\nDate: Tue, 4 Jun 2024 08:12:31 +0200\r\nMessage-ID: <"...)
	m.randHex(24)
	m.buf = append(m.buf, "@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\""+boundary+"\"\r\n\r\n"...)
}

// paragraph appends prose in lines of at most 76 bytes, then a blank line.
func (m *mailReader) paragraph(open, close string) {
	m.buf = append(m.buf, open...)
	line := len(open)
	for range 20 + m.rng.IntN(60) {
		w := words[m.word()]
		if line+len(w)+1 > 76 {
			m.buf = append(m.buf, "\r\n"...)
			line = 0
		} else if line > 0 {
			m.buf = append(m.buf, ' ')
			line++
		}
		m.buf = append(m.buf, w...)
		line += len(w)
		if m.rng.IntN(12) == 0 {
			m.buf = append(m.buf, '.')
			line++
		}
	}
	m.buf = append(m.buf, close...)
	m.buf = append(m.buf, ".\r\n\r\n"...)
}

func (m *mailReader) word() uint64 { return m.zipf.Uint64() }

// base64Line appends 76 base64 characters of random bytes and CRLF.
func (m *mailReader) base64Line() {
	m.base64(57)
	m.buf = append(m.buf, "\r\n"...)
}

// base64 appends the base64 of n random bytes (n <= 64).
func (m *mailReader) base64(n int) {
	var raw [64]byte
	for i := 0; i < n; i += 8 {
		v := m.rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	m.buf = base64.StdEncoding.AppendEncode(m.buf, raw[:n])
}

func (m *mailReader) randHex(n int) {
	const digits = "0123456789ABCDEF"
	for range n {
		m.buf = append(m.buf, digits[m.rng.IntN(16)])
	}
}

// words are common English words, roughly in order of frequency (the
// reader draws them with a Zipf distribution).
var words = [...]string{
	"the", "to", "and", "of", "a", "in", "is", "for", "that", "you", "it", "on",
	"with", "we", "this", "be", "are", "as", "have", "I", "your", "at", "will",
	"not", "or", "from", "by", "can", "please", "our", "if", "all", "an", "was",
	"but", "do", "would", "me", "they", "more", "about", "has", "so", "one",
	"meeting", "thanks", "time", "let", "know", "new", "could", "report",
	"next", "week", "attached", "regards", "team", "project", "update",
	"should", "there", "also", "any", "which", "what", "when", "here", "need",
	"like", "just", "been", "some", "their", "them", "other", "than", "then",
	"into", "only", "after", "over", "these", "before", "because", "through",
	"customer", "account", "invoice", "payment", "schedule", "Monday",
	"Friday", "tomorrow", "today", "morning", "afternoon", "office", "call",
	"discuss", "review", "draft", "final", "version", "document", "changes",
	"comments", "feedback", "question", "answer", "issue", "problem",
	"solution", "budget", "quarter", "results", "numbers", "sales",
	"marketing", "support", "service", "order", "delivery", "shipping",
	"address", "phone", "number", "information", "details", "request",
	"approval", "contract", "agreement", "proposal", "presentation", "slides",
	"agenda", "minutes", "notes", "summary", "follow", "up", "reminder",
	"deadline", "available", "confirm", "confirmed", "sorry", "delay",
	"hope", "well", "best", "kind", "dear", "hello", "hi", "everyone",
	"colleagues", "manager", "director", "department", "company", "client",
	"partner", "vendor", "supplier", "product", "release", "launch", "plan",
	"strategy", "goal", "target", "progress", "status", "pending", "done",
	"complete", "completed", "working", "progressing", "expected", "estimate",
	"cost", "price", "quote", "discount", "offer", "terms", "conditions",
	"policy", "security", "password", "login", "access", "server", "system",
	"database", "backup", "restore", "migration", "upgrade", "maintenance",
	"outage", "incident", "ticket", "priority", "urgent", "important",
	"note", "attachment", "file", "folder", "link", "website", "page",
	"email", "message", "reply", "forward", "thread", "conversation",
	"Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry",
	"London", "Berlin", "Paris", "conference", "travel", "hotel", "flight",
	"lunch", "dinner", "coffee", "holiday", "vacation", "leave", "sick",
	"training", "workshop", "session", "event", "invitation", "registration",
}

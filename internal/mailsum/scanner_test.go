package mailsum

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// crlf turns the LF line ends of a test message into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// sameSummary compares summaries, dates by instant.
func sameSummary(a, b Summary) bool {
	return a.From == b.From && a.To == b.To && a.Cc == b.Cc && a.Subject == b.Subject &&
		a.Date.Equal(b.Date) && a.MessageID == b.MessageID && a.HasAttachments == b.HasAttachments
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const plainHeader = `From: Alice Example <alice@example.com>
To: bob@example.org
Subject: Hello world
Date: Tue, 27 Aug 2002 16:37:53 +0200
Message-ID: <1@example.com>
`

var date1 = time.Date(2002, 8, 27, 14, 37, 53, 0, time.UTC)

// testCase is a message (with LF line ends) and the summary fields it must
// give; HasAttachments is always compared, other fields when set.
type testCase struct {
	name string
	msg  string
	want Summary
}

var headerCases = []testCase{
	{"plain", plainHeader + "\nHi Bob.\n", Summary{
		From: "Alice Example <alice@example.com>", To: "bob@example.org",
		Subject: "Hello world", Date: date1, MessageID: "1@example.com"}},
	{"q iso-8859-1", "From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <jm@example.de>\nSubject: =?iso-8859-1?q?Gr=FC=DFe_aus_K=F6ln?=\n\n",
		Summary{From: "Jürgen Müller <jm@example.de>", Subject: "Grüße aus Köln"}},
	{"b iso-8859-1", "Subject: =?iso-8859-1?B?R3L832UgYXVzIEv2bG4=?=\n\n", Summary{Subject: "Grüße aus Köln"}},
	{"b utf-8", "Subject: =?UTF-8?B?R3LDvMOfZSDwn5GL?=\n\n", Summary{Subject: "Grüße 👋"}},
	{"q utf-8", "Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?= und =?utf-8?q?sch=C3=B6n?=\n\n", Summary{Subject: "Grüße und schön"}},
	{"b koi8-r", "Subject: =?koi8-r?B?8NLJ18XULCDNydI=?=\n\n", Summary{Subject: "Привет, мир"}},
	{"q koi8-r", "From: =?KOI8-R?Q?=F0=D2=C9=D7=C5=D4?= <ivan@example.ru>\n\n", Summary{From: "Привет <ivan@example.ru>"}},
	{"b iso-2022-jp", "Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkT0AkMyYbKEI=?=\n\n", Summary{Subject: "こんにちは世界"}},
	{"iso-2022-jp two words", "Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\n =?ISO-2022-JP?B?GyRCQCQzJhsoQg==?=\n\n", Summary{Subject: "こんにちは世界"}},
	{"utf-8 split across words", "Subject: =?utf-8?B?" + b64("Gr\xc3") + "?= =?utf-8?B?" + b64("\xbc\xc3\x9fe") + "?=\n\n", Summary{Subject: "Grüße"}},
	{"language suffix", "Subject: =?utf-8*de?Q?sch=C3=B6n?=\n\n", Summary{Subject: "schön"}},
	// mime.WordDecoder converts US-ASCII (8-bit bytes become U+FFFD) and
	// ISO-8859-1 itself, so a mislabelled word is not guessed at.
	{"mislabelled us-ascii", "Subject: =?us-ascii?Q?caf=E9_=93quoted=94?=\n\n", Summary{Subject: "caf\uFFFD \uFFFDquoted\uFFFD"}},
	{"mislabelled latin1 is utf-8", "Subject: =?iso-8859-1?Q?Gr=C3=BC=C3=9Fe?=\n\n", Summary{Subject: "GrÃ¼ÃŸe"}},
	{"latin1 label with windows-1252 bytes", "Subject: =?iso-8859-1?Q?=93quoted=94_=80?=\n\n", Summary{Subject: "“quoted” €"}},
	{"mislabelled utf-8 is latin1", "Subject: =?utf-8?Q?caf=E9?=\n\n", Summary{Subject: "café"}},
	{"unknown charset", "Subject: =?x-unknown?Q?caf=E9?= =?bogus?Q?na=C3=AFve?=\n\n", Summary{Subject: "cafénaïve"}},
	{"broken utf-8 replaced", "Subject: =?utf-8?Q?=C3=A9t=C3=A9=FF?=\n\n", Summary{Subject: "été\uFFFD"}},
	{"raw 8-bit with charset hint", "Subject: Gr\xfc\xdfe\nContent-Type: text/plain; charset=iso-8859-15\n\n", Summary{Subject: "Grüße"}},
	{"raw koi8-r with charset hint", "Subject: \xf0\xd2\xc9\xd7\xc5\xd4\nContent-Type: text/plain; charset=\"koi8-r\"\n\n", Summary{Subject: "Привет"}},
	{"raw utf-8", "Subject: Grüße\nContent-Type: text/plain; charset=iso-8859-1\n\n", Summary{Subject: "Grüße"}},
	{"raw 8-bit no hint", "Subject: caf\xe9\n\n", Summary{Subject: "café"}},
	{"raw windows-1252 with latin1 hint", "Subject: 100 \x80 caf\xe9\nContent-Type: text/plain; charset=iso-8859-1\n\n", Summary{Subject: "100 € café"}},
	{"not an encoded word", "Subject: =?what is this?= a=?b\n\n", Summary{Subject: "=?what is this?= a=?b"}},
	{"folded", "Subject: a long\n  subject\n\tfolded   twice\nTo: a@example.com,\n b@example.com\n\n",
		Summary{Subject: "a long subject folded twice", To: "a@example.com, b@example.com"}},
	{"multiple to and cc", "To: a@x.org, B <b@x.org>\nCc: c@x.org\nTo: d@x.org\nCc: \"Doe, Jane\" <jane@x.org>, e@x.org (Eve)\n\n",
		Summary{To: "a@x.org, B <b@x.org>, d@x.org", Cc: "c@x.org, \"Doe, Jane\" <jane@x.org>, Eve <e@x.org>"}},
	{"address forms", "From: \"Joe \\\"Q\\\" Public\" <@route,@r2:joe@x.org>\nTo: undisclosed-recipients:;\nCc: Team: a@x.org, b@x.org;, same@x.org <same@x.org>, Undisclosed Recipients\n\n",
		// net/mail has no obsolete routes and rejects the bare name and the
		// unquoted "@" in a display name: those lists are kept as text.
		Summary{From: `"Joe \"Q\" Public" <@route,@r2:joe@x.org>`, To: "undisclosed-recipients:;",
			Cc: "Team: a@x.org, b@x.org;, same@x.org <same@x.org>, Undisclosed Recipients"}},
	{"groups and comments", "To: Team: a@x.org, \"B\" <b@x.org>;, \"Joe Doe\"@x.org (Joe)\nCc: \"Same@X.org\" <same@x.org>\n\n",
		Summary{To: `a@x.org, B <b@x.org>, Joe <"Joe Doe"@x.org>`, Cc: "same@x.org"}},
	{"encoded name with comma", "From: =?utf-8?Q?M=C3=BCller=2C_J=C3=BCrgen?= <j@x.de>\n\n", Summary{From: "\"Müller, Jürgen\" <j@x.de>"}},
	{"message-id forms", "Message-ID:\n <abc.123@example.com> (comment)\n\n", Summary{MessageID: "abc.123@example.com"}},
	{"message-id without brackets", "Message-Id:  abc@example.com \n\n", Summary{MessageID: "abc@example.com"}},
	{"first single fields win", "Subject: one\nSubject: two\nFrom: a@x.org\nFrom: b@x.org\n\n", Summary{Subject: "one", From: "a@x.org"}},
	{"mbox from line and junk lines", "From alice@example.com  Tue Aug 27 16:37:53 2002\nnot a header\nSubject : spaced colon\n\n", Summary{Subject: "spaced colon"}},
	{"no separator", "Subject: only a header\nFrom: a@x.org", Summary{Subject: "only a header", From: "a@x.org"}},
	{"nul and control bytes", "Subject: a\x00b\x07c\x1b[31m\nFrom: x\x00y@x.org\n\n\x00\x00", Summary{Subject: "a b c [31m", From: "x y@x.org"}},
	{"empty", "", Summary{}},
	{"body only", "\nHello\n", Summary{}},
}

func TestHeaderFields(t *testing.T) {
	for _, tc := range headerCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse([]byte(crlf(tc.msg)))
			w := tc.want
			if got.From != w.From || got.To != w.To || got.Cc != w.Cc || got.Subject != w.Subject ||
				got.MessageID != w.MessageID || !got.Date.Equal(w.Date) || got.HasAttachments != w.HasAttachments {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
}

const (
	textPart = "Content-Type: text/plain; charset=utf-8\n\nHello.\n"
	htmlPart = "Content-Type: text/html; charset=utf-8\n\n<p>Hello.</p>\n"
	pdfPart  = "Content-Type: application/pdf; name=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
)

// multipart builds a multipart body with the given subtype and parts.
func multipart(subtype, boundary string, parts ...string) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/" + subtype + "; boundary=\"" + boundary + "\"\n\nThis is a multi-part message in MIME format.\n")
	for _, p := range parts {
		b.WriteString("--" + boundary + "\n" + p + "\n")
	}
	b.WriteString("--" + boundary + "--\nepilogue\n")
	return b.String()
}

var attachmentCases = []struct {
	name string
	msg  string
	want bool
}{
	{"single text", plainHeader + "\nHi.\n", false},
	{"single pdf attachment", plainHeader + "Content-Type: application/pdf\nContent-Disposition: attachment\n\nJVBE\n", true},
	{"single octet-stream unnamed", plainHeader + "Content-Type: application/octet-stream\n\nxx\n", false},
	{"alternative", plainHeader + multipart("alternative", "alt", textPart, htmlPart), false},
	{"mixed with pdf", plainHeader + multipart("mixed", "mix", textPart, pdfPart), true},
	{"mixed text only", plainHeader + multipart("mixed", "mix", textPart, textPart), false},
	{"text with attachment disposition", plainHeader + multipart("mixed", "m",
		textPart, "Content-Type: text/plain; name=notes.txt\nContent-Disposition: attachment; filename=notes.txt\n\nnotes\n"), true},
	{"text with name only", plainHeader + multipart("mixed", "m",
		textPart, "Content-Type: text/plain; name=notes.txt\n\nnotes\n"), false},
	{"rfc 2231 filename", plainHeader + multipart("mixed", "m",
		textPart, "Content-Type: application/octet-stream\nContent-Disposition: inline; filename*=utf-8''%C3%A4.bin\n\nxx\n"), true},
	{"nested without attachment", plainHeader + multipart("mixed", "outer",
		multipart("alternative", "inner", textPart, multipart("related", "rel", htmlPart,
			"Content-Type: image/png; name=logo.png\nContent-ID: <logo@x>\nContent-Disposition: inline; filename=logo.png\n\niVBO\n"))), false},
	{"nested with attachment after inner", plainHeader + multipart("mixed", "outer",
		multipart("alternative", "inner", textPart, htmlPart), pdfPart), true},
	{"boundary prefix of another", plainHeader + multipart("mixed", "b",
		multipart("alternative", "b-inner", textPart, htmlPart), textPart), false},
	{"message/rfc822 attached", plainHeader + multipart("mixed", "m", textPart,
		"Content-Type: message/rfc822\nContent-Disposition: inline\n\n"+plainHeader+"\nForwarded.\n"), true},
	{"digest parts", plainHeader + multipart("digest", "d", "\n"+plainHeader+"\nOne.\n"), true},
	{"inline image in related with cid", plainHeader + multipart("related", "r", htmlPart,
		"Content-Type: image/jpeg; name=\"photo.jpg\"\nContent-Disposition: inline; filename=\"photo.jpg\"\nContent-ID: <p1>\n\n/9j/\n"), false},
	{"inline image with filename in mixed", plainHeader + multipart("mixed", "m", textPart,
		"Content-Type: image/jpeg; name=\"IMG_0001.jpg\"\nContent-Disposition: inline; filename=\"IMG_0001.jpg\"\n\n/9j/\n"), true},
	{"inline image without name", plainHeader + multipart("mixed", "m", textPart,
		"Content-Type: image/png\nContent-Disposition: inline\n\niVBO\n"), false},
	{"attachment after missing close of inner", plainHeader +
		"Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n" + textPart +
		"--o\n" + pdfPart + "--o--\n", true},
	{"part header without empty line", plainHeader +
		"Content-Type: multipart/mixed; boundary=o\n\n--o\n" + textPart + "--o\nContent-Type: application/zip; name=a.zip\n--o--\n", true},
	{"delimiter with trailing white space", plainHeader +
		"Content-Type: multipart/mixed; boundary=o\n\n--o \t\n" + pdfPart + "--o--\n", true},
	{"boundary missing", plainHeader + "Content-Type: multipart/mixed\n\n--x\n" + pdfPart + "--x--\n", false},
	{"boundary never used", plainHeader + "Content-Type: multipart/mixed; boundary=zz\n\n--x\n" + pdfPart, false},
	{"unquoted specials", plainHeader +
		"Content-Type: multipart/mixed; boundary=----=_NextPart_000_0001\n\n------=_NextPart_000_0001\n" + pdfPart + "------=_NextPart_000_0001--\n", true},
	{"duplicate parameters", plainHeader +
		"Content-Type: multipart/mixed; boundary=a; boundary=b\n\n--a\n" + pdfPart + "--a--\n", true},
	{"unquoted specials and missing semicolon", plainHeader +
		"Content-Type: multipart/mixed boundary=----=_NextPart_000_0000\n\n------=_NextPart_000_0000\n" + pdfPart + "------=_NextPart_000_0000--\n", true},
	{"delimiter inside a longer line", plainHeader + multipart("mixed", "m", textPart+"--m is not a delimiter\n"), false},
	{"attachment in the epilogue is ignored", plainHeader + multipart("mixed", "m", textPart) + "--m\n" + pdfPart, false},
	{"cut off inside a part header", plainHeader + "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: application/pdf;\n name=a.pdf", true},
	{"long lines", plainHeader + multipart("mixed", "m", "Content-Type: text/plain\n\n"+strings.Repeat("-", 5000)+"\n--m"+strings.Repeat(" ", 3000)+"\n"), false},
}

func TestAttachments(t *testing.T) {
	for _, tc := range attachmentCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, nl := range []string{"lf", "crlf"} {
				msg := tc.msg
				if nl == "crlf" {
					msg = crlf(msg)
				}
				if got := Parse([]byte(msg)).HasAttachments; got != tc.want {
					t.Errorf("%s: HasAttachments = %v, want %v", nl, got, tc.want)
				}
			}
		})
	}
}

// allMessages returns every test message, in LF and CRLF form.
func allMessages() [][]byte {
	var out [][]byte
	for _, tc := range headerCases {
		out = append(out, []byte(tc.msg), []byte(crlf(tc.msg)))
	}
	for _, tc := range attachmentCases {
		out = append(out, []byte(tc.msg), []byte(crlf(tc.msg)))
	}
	return out
}

func TestLineEndingsGiveTheSameSummary(t *testing.T) {
	for _, tc := range headerCases {
		t.Run(tc.name, func(t *testing.T) {
			lf, cr := Parse([]byte(tc.msg)), Parse([]byte(crlf(tc.msg)))
			if !sameSummary(lf, cr) {
				t.Errorf("LF %+v\nCRLF %+v", lf, cr)
			}
		})
	}
}

// writeChunks writes msg to a fresh scanner in chunks of n bytes.
func writeChunks(s *Scanner, msg []byte, n int) Summary {
	s.Reset()
	for len(msg) > 0 {
		k := min(n, len(msg))
		if w, err := s.Write(msg[:k]); w != k || err != nil {
			panic("Write must accept everything")
		}
		msg = msg[k:]
	}
	return s.Summary()
}

func TestChunkingDoesNotMatter(t *testing.T) {
	s := NewScanner()
	for i, msg := range allMessages() {
		whole := Parse(msg)
		for _, n := range []int{1, 2, 3, 7, 64, 1 << 20} {
			if got := writeChunks(s, msg, n); !sameSummary(got, whole) {
				t.Errorf("message %d in %d-byte writes: %+v, want %+v", i, n, got, whole)
			}
		}
	}
}

func TestSummaryDoesNotChangeTheScanner(t *testing.T) {
	msg := []byte(crlf(plainHeader + multipart("mixed", "m", textPart, pdfPart)))
	cut := bytes.Index(msg, []byte("--m\r\nContent-Type: application/pdf"))
	s := NewScanner()
	_, _ = s.Write(msg[:cut])
	if s.Summary().HasAttachments {
		t.Fatal("attachment reported before its part")
	}
	_, _ = s.Write(msg[cut:])
	if got := s.Summary(); !sameSummary(got, Parse(msg)) || !got.HasAttachments {
		t.Fatalf("after the rest: %+v", got)
	}
}

func TestBoundedMemory(t *testing.T) {
	s := NewScanner()
	huge := bytes.Repeat([]byte("X-Filler: "+strings.Repeat("y", 90)+"\r\n"), 5000) // 500 KB header
	msg := append([]byte("Subject: early\r\n"), huge...)
	msg = append(msg, "Subject: late\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n"...)
	msg = append(msg, bytes.Repeat([]byte("Z"), 3<<20)...) // one 3 MB line in a part header
	_, _ = s.Write(msg)
	if c := cap(s.hdr); c > 2*maxHeader {
		t.Errorf("header buffer grew to %d", c)
	}
	if c := cap(s.line); c > 2*maxLine {
		t.Errorf("line buffer grew to %d", c)
	}
	if got := s.Summary(); got.Subject != "early" || got.HasAttachments {
		t.Errorf("summary %+v", got)
	}

	s.Reset()
	var nest strings.Builder // 1000 nested multiparts
	for i := range 1000 {
		nest.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + "\n\n--b" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + "\n")
	}
	_, _ = s.Write([]byte(nest.String()))
	if len(s.stack) > maxDepth {
		t.Errorf("stack grew to %d", len(s.stack))
	}
}

func TestReset(t *testing.T) {
	a := []byte(crlf(plainHeader + multipart("mixed", "m", textPart, pdfPart)))
	b := []byte(crlf("Subject: second\n\nbody\n"))
	s := NewScanner()
	_, _ = s.Write(a)
	s.Reset()
	_, _ = s.Write(b)
	if got := s.Summary(); !sameSummary(got, Parse(b)) {
		t.Errorf("after Reset: %+v, want %+v", got, Parse(b))
	}
}

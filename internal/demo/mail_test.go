package demo

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for image.Decode
	_ "image/png"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

var testDate = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// sample makes one message of each kind, and a reply.
func sample(t *testing.T, seed uint64) map[string]Message {
	t.Helper()
	g, err := NewGenerator(seed)
	if err != nil {
		t.Fatal(err)
	}
	owner := Accounts()[0].Person
	out := map[string]Message{}
	kinds := map[string]kindFunc{"personal": g.Personal, "newsletter": g.Newsletter, "invoice": g.Invoice,
		"trip": g.Trip, "spam": g.Spam}
	for _, name := range []string{"personal", "newsletter", "invoice", "trip", "spam"} {
		for i := range 8 {
			m, err := kinds[name](owner, testDate.Add(time.Duration(i)*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s%d", name, i)] = m
		}
	}
	r, err := g.Reply(out["personal0"], owner, out["personal0"].From, testDate.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out["reply"] = r
	return out
}

func TestGeneratorDeterministic(t *testing.T) {
	a, b, c := sample(t, 7), sample(t, 7), sample(t, 8)
	differ := 0
	for k := range a {
		if !bytes.Equal(a[k].Raw, b[k].Raw) {
			t.Errorf("%s: same seed, different bytes", k)
		}
		if !bytes.Equal(a[k].Raw, c[k].Raw) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("another seed gave the same messages")
	}
}

// part is a leaf of a parsed message.
type parsedPart struct {
	ctype, filename, cid string
	body                 []byte
}

// parse reads m with go-message, every part to its end.
func parse(t *testing.T, raw []byte) (*mail.Reader, []parsedPart) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var parts []parsedPart
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		pp := parsedPart{body: body, cid: p.Header.Get("Content-ID")}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			pp.ctype, _, _ = h.ContentType()
		case *mail.AttachmentHeader:
			pp.ctype, _, _ = h.ContentType()
			if pp.filename, err = h.Filename(); err != nil {
				t.Fatal(err)
			}
		}
		parts = append(parts, pp)
	}
	return r, parts
}

func TestGeneratedMIME(t *testing.T) {
	for name, m := range sample(t, 1) {
		t.Run(name, func(t *testing.T) {
			if bytes.Contains(bytes.ReplaceAll(m.Raw, []byte("\r\n"), nil), []byte("\n")) {
				t.Error("bare LF")
			}
			for _, l := range bytes.Split(m.Raw, []byte("\r\n")) {
				if len(l) > 998 {
					t.Errorf("line of %d octets", len(l))
				}
			}
			if !isASCII(m.Raw) {
				t.Error("8-bit octets in a 7-bit message")
			}
			r, parts := parse(t, m.Raw)
			subject, err := r.Header.Subject()
			if err != nil || subject != m.Subject {
				t.Errorf("subject %q (%v), want %q", subject, err, m.Subject)
			}
			from, err := r.Header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != m.From.Name || from[0].Address != m.From.Addr {
				t.Errorf("from %v (%v), want %v", from, err, m.From)
			}
			if id, err := r.Header.MessageID(); err != nil || id != m.ID {
				t.Errorf("message-id %q (%v), want %q", id, err, m.ID)
			}
			if len(parts) == 0 || len(parts[0].body) == 0 {
				t.Error("no body")
			}
			checkAttachments(t, parts)
		})
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c > 0x7e && c != 0 {
			return false
		}
	}
	return true
}

// checkAttachments decodes every image and checks every PDF.
func checkAttachments(t *testing.T, parts []parsedPart) {
	t.Helper()
	for _, p := range parts {
		switch p.ctype {
		case "image/png", "image/jpeg":
			cfg, format, err := image.DecodeConfig(bytes.NewReader(p.body))
			if err != nil || "image/"+format != p.ctype || cfg.Width == 0 {
				t.Errorf("%s %q: %v %s %v", p.ctype, p.filename, err, format, cfg)
			}
		case "application/pdf":
			checkPDF(t, p.body)
		}
	}
}

// checkPDF checks the cross-reference table: every offset names its
// object, and startxref names the table.
func checkPDF(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatalf("not a PDF: %.20q", b)
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 6\n")) {
		t.Fatalf("startxref %d does not name the table", xref)
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(b[xref:], -1)
	if len(entries) != 5 {
		t.Fatalf("%d xref entries", len(entries))
	}
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %.10q", i+1, b[off:])
		}
	}
	n := regexp.MustCompile(`<< /Length (\d+) >>\nstream\n`).FindSubmatchIndex(b)
	length, _ := strconv.Atoi(string(b[n[2]:n[3]]))
	if !bytes.HasPrefix(b[n[1]+length:], []byte("endstream")) {
		t.Error("stream /Length is wrong")
	}
}

func TestNonASCIIRoundTrip(t *testing.T) {
	msgs := sample(t, 3)
	names := map[string]bool{}
	for _, m := range msgs {
		_, parts := parse(t, m.Raw)
		for _, p := range parts {
			names[p.filename] = true
		}
	}
	if !names["Reiseplan Japan 日本.pdf"] && !names["京都-1.jpg"] {
		t.Errorf("no non-ASCII attachment name among %v", names)
	}
	nonASCII := 0
	for _, m := range msgs {
		if !isASCII([]byte(m.Subject)) || !isASCII([]byte(m.From.Name)) {
			nonASCII++
		}
	}
	if nonASCII == 0 {
		t.Error("no non-ASCII subject or sender")
	}
}

func TestNewsletterImages(t *testing.T) {
	m := sample(t, 2)["newsletter0"]
	_, parts := parse(t, m.Raw)
	var html string
	cids := map[string]bool{}
	for _, p := range parts {
		if p.ctype == "text/html" {
			html = string(p.body)
		}
		if p.cid != "" {
			cids[strings.Trim(p.cid, "<>")] = true
		}
	}
	ref := regexp.MustCompile(`src="cid:([^"]+)"`).FindStringSubmatch(html)
	if ref == nil || !cids[ref[1]] {
		t.Errorf("inline image %v not among parts %v", ref, cids)
	}
	if !regexp.MustCompile(`<img src="http://[a-z.-]+\.example/`).MatchString(html) {
		t.Error("no remote image")
	}
}

func TestReplyThreads(t *testing.T) {
	msgs := sample(t, 4)
	orig, reply := msgs["personal0"], msgs["reply"]
	r, _ := parse(t, reply.Raw)
	irt, err := r.Header.MsgIDList("In-Reply-To")
	if err != nil || len(irt) != 1 || irt[0] != orig.ID {
		t.Errorf("In-Reply-To %v (%v), want %s", irt, err, orig.ID)
	}
	refs, err := r.Header.MsgIDList("References")
	if err != nil || len(refs) == 0 || refs[len(refs)-1] != orig.ID {
		t.Errorf("References %v (%v), want to end with %s", refs, err, orig.ID)
	}
	if !strings.HasPrefix(reply.Subject, "Re: ") {
		t.Errorf("reply subject %q", reply.Subject)
	}
}

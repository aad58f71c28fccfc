package render

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// nested is a message of depth multiparts one inside the other, each
// closed unless open is set, around one line of text; same gives every
// level the same boundary, similar boundaries that extend each other.
func nested(depth int, open bool, kind string) []byte {
	var b strings.Builder
	b.WriteString("Subject: nested\r\nFrom: x@example.com\r\nMIME-Version: 1.0\r\n")
	bd := func(i int) string {
		switch kind {
		case "same":
			return "b"
		case "similar":
			return strings.Repeat("b", i+1)
		}
		return fmt.Sprintf("b%d", i)
	}
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n--%s\r\n", bd(i), bd(i))
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nthe innermost text\r\n")
	if !open {
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--%s--\r\n", bd(i))
		}
	}
	return []byte(b.String())
}

// TestNestingBomb: a message of multiparts nested 40 or 300 deep, closed
// or not (unclosed, 40 levels in 2 KB never finished parsing), opens in
// well under a second: refused as TooComplex, with its headers, its raw
// text and the reason. Within the limit, unclosed nesting is read as if
// closed, in linear time, the text found.
func TestNestingBomb(t *testing.T) {
	for _, depth := range []int{40, 300} {
		for _, open := range []bool{false, true} {
			for _, kind := range []string{"distinct", "similar"} {
				raw := nested(depth, open, kind)
				start := time.Now()
				m, err := Parse(raw)
				took := time.Since(start)
				name := fmt.Sprintf("depth %d, open %v, %s", depth, open, kind)
				if err != nil || !m.TooComplex || took > time.Second {
					t.Fatalf("%s: %v too complex %v in %v", name, err, m != nil && m.TooComplex, took)
				}
				if m.Headers.Subject != "nested" || !strings.Contains(m.Text(), "the innermost text") ||
					len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "nested more than 32 levels") {
					t.Errorf("%s: headers %+v, problems %q", name, m.Headers, m.Problems)
				}
				if SearchText(m) != "" {
					t.Errorf("%s: body indexed", name)
				}
			}
		}
	}
	for _, open := range []bool{false, true} {
		for _, kind := range []string{"distinct", "similar", "same"} {
			raw := nested(MaxDepth, open, kind)
			start := time.Now()
			m, err := Parse(raw)
			if took := time.Since(start); err != nil || m.TooComplex || took > time.Second ||
				!strings.Contains(m.Text(), "the innermost text") {
				t.Errorf("%d levels, open %v, %s: %v, too complex %v, %v, text %q", MaxDepth, open, kind, err, m.TooComplex, took, m.Text())
			}
		}
	}
}

// TestShapeRepairs: the closings a message lacks are added where the
// parser would have ended the parts, and nothing else changes.
func TestShapeRepairs(t *testing.T) {
	for _, c := range []struct{ name, raw, want string }{
		{"closed", "Content-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n--a--\n", ""},
		{"unclosed at the end", "Content-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n",
			"Content-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n--a--\n"},
		{"no final newline", "Content-Type: multipart/mixed; boundary=a\n\n--a\n\nx",
			"Content-Type: multipart/mixed; boundary=a\n\n--a\n\nx\n--a--\n"},
		{"inner closed by the outer", "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--a--\r\n",
			"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n--a--\r\n"},
		{"never opened", "Content-Type: multipart/mixed; boundary=a\n\nno parts at all\n", ""},
		{"not MIME", "just words\n--a\n", ""},
	} {
		sh := scanShape([]byte(c.raw))
		if got := string(sh.repaired); got != c.want {
			t.Errorf("%s: repaired %q, want %q", c.name, got, c.want)
		}
	}
	// The same boundary inside: its delimiter is the outer one's (the
	// outer reader sees it first), so the depth stays 2.
	if sh := scanShape(bytes.Repeat([]byte("Content-Type: multipart/mixed; boundary=z\n\n--z\n"), 3)); sh.depth != 2 || sh.parts != 3 {
		t.Errorf("the same boundary: depth %d parts %d", sh.depth, sh.parts)
	}
	if sh := scanShape(nested(5, true, "distinct")); sh.depth != 5 || sh.parts != 5 {
		t.Errorf("distinct boundaries: depth %d parts %d", sh.depth, sh.parts)
	}
}

// TestGuard: a parse that outlasts the budget gives the message back
// unparsed (headers, raw text, the reason) at the budget, and keeps its
// worker until it ends, so that stuck parses cannot pile up: the next
// waits for a worker, and gives up when its caller does.
func TestGuard(t *testing.T) {
	g := NewGuard(1, 50*time.Millisecond)
	release := make(chan struct{})
	g.parse = func(raw []byte) (*Message, error) {
		<-release
		return Parse(raw)
	}
	raw := []byte("Subject: slow\r\nFrom: a@example.com\r\n\r\nthe body\r\n")
	start := time.Now()
	m, err := g.Parse(context.Background(), raw)
	if err != nil || !m.TooComplex || m.Headers.Subject != "slow" || !strings.Contains(m.Text(), "the body") ||
		!strings.Contains(m.Problems[0], "took longer than 50ms") || time.Since(start) > time.Second {
		t.Fatalf("a stuck parse: %v %+v after %v", err, m, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := g.Parse(ctx, raw); err != context.DeadlineExceeded {
		t.Errorf("no worker free: %v", err)
	}
	close(release)
	g.parse = Parse
	if m, err := g.Parse(context.Background(), raw); err != nil || m.TooComplex || m.Headers.Subject != "slow" {
		t.Errorf("once the worker is free: %v %+v", err, m)
	}
}

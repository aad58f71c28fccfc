package render

import (
	"bytes"
	"strings"
	"unicode"

	"github.com/jhillyerd/enmime/v2/mediatype"
)

// MaxDepth is the deepest nesting of multipart parts read, and MaxParts
// the most parts. The parser's time grows with the square of the nesting
// of closed multiparts and doubles with each level of unclosed ones (40
// levels in 2 KB: never done); real mail nests a few levels, forwarded
// mail a dozen. A message beyond either limit is not parsed: it opens as
// its raw text, TooComplex, its bytes whole for View source and Download.
const (
	MaxDepth = 32
	MaxParts = 5000
)

// shape is what a linear pass over a message finds of its MIME tree,
// before the parser is trusted with it.
type shape struct {
	depth, parts int
	// repaired is the message with the closing delimiters it lacks added
	// (nil when none is missing): the parser reads it in linear time,
	// where unclosed multiparts cost it time exponential in their depth.
	repaired []byte
}

// boundary is an open multipart: its delimiter, and whether its first
// part has begun (only then can it hold nested parts, or need closing).
type boundary struct {
	delim  string // "--" + the boundary
	opened bool
}

// scanShape walks raw's lines once, as the parser splits them: each
// part's header, each multipart's delimiter lines ("--boundary" then a
// space or the line's end; "--boundary--" ends it). An outer multipart's
// delimiter ends the parts inside it, as in the parser, whose readers are
// nested. It stops past MaxDepth levels or MaxParts parts.
func scanShape(raw []byte) shape {
	eol := "\n"
	if bytes.Contains(raw, []byte("\r\n")) {
		eol = "\r\n"
	}
	var (
		sh      shape
		stack   []boundary
		out     bytes.Buffer // raw with the missing closings, once one is missing
		copied  int          // raw[:copied] is in out
		inHead  = true       // reading a part's header (the message's first)
		ctype   string       // the header's Content-Type, unfolded
		inCtype bool
	)
	// closeAbove closes the opened multiparts above stack[k] at raw[at].
	closeAbove := func(at, k int) {
		for i := len(stack) - 1; i > k; i-- {
			if !stack[i].opened {
				continue
			}
			if sh.repaired == nil {
				out.Grow(len(raw) + 256)
				sh.repaired = []byte{}
			}
			out.Write(raw[copied:at])
			copied = at
			if at == len(raw) && at > 0 && raw[at-1] != '\n' {
				out.WriteString(eol)
			}
			out.WriteString(stack[i].delim + "--" + eol)
		}
		stack = stack[:k+1]
	}
	for pos := 0; pos < len(raw); {
		next := len(raw)
		if end := bytes.IndexByte(raw[pos:], '\n'); end >= 0 {
			next = pos + end + 1
		}
		line := raw[pos:next]
		if k, final := delimiter(stack, line); k >= 0 {
			closeAbove(pos, k)
			if final {
				stack = stack[:k]
				inHead = false
			} else {
				stack[k].opened = true
				if sh.parts++; sh.parts > MaxParts {
					return sh
				}
				inHead = true
			}
			ctype, inCtype = "", false
			pos = next
			continue
		}
		if inHead {
			text := strings.TrimRight(string(line), "\r\n")
			switch {
			case text == "":
				inHead = false
				// The parser reads any part with a boundary as a multipart,
				// whatever its type says ("ultipart/mixed" too): so does this.
				if _, params, _, err := mediatype.Parse(ctype); err == nil && params["boundary"] != "" {
					stack = append(stack, boundary{delim: "--" + params["boundary"]})
					if sh.depth = max(sh.depth, len(stack)); sh.depth > MaxDepth {
						return sh
					}
				}
				ctype, inCtype = "", false
			case text[0] == ' ' || text[0] == '\t':
				if inCtype {
					ctype += " " + strings.TrimSpace(text)
				}
			default:
				name, value, _ := strings.Cut(text, ":")
				if inCtype = strings.EqualFold(strings.TrimSpace(name), "Content-Type"); inCtype {
					ctype = strings.TrimSpace(value)
				}
			}
		}
		pos = next
	}
	closeAbove(len(raw), -1)
	if sh.repaired != nil {
		out.Write(raw[copied:])
		sh.repaired = out.Bytes()
	}
	return sh
}

// delimiter finds the multipart whose delimiter line is line, the
// outermost first (its reader sees the line first), and whether the line
// ends it; k is -1 when the line is none of theirs.
func delimiter(stack []boundary, line []byte) (k int, final bool) {
	if len(line) < 2 || line[0] != '-' || line[1] != '-' {
		return -1, false
	}
	for k, b := range stack {
		if !bytes.HasPrefix(line, []byte(b.delim)) {
			continue
		}
		rest := line[len(b.delim):]
		if bytes.HasPrefix(rest, []byte("--")) {
			return k, true
		}
		if len(rest) > 0 && unicode.IsSpace(rune(rest[0])) {
			return k, false
		}
	}
	return -1, false
}

// Structure checks a message before another MIME reader walks its tree
// (the IMAP server's BODYSTRUCTURE and body parts, go-message's): ok is
// false past MaxDepth or MaxParts; else safe is the message with the
// closing delimiters it lacks added (raw itself when none is missing),
// which any reader of nested parts walks in linear time.
func Structure(raw []byte) (safe []byte, ok bool) {
	sh := scanShape(raw)
	if sh.depth > MaxDepth || sh.parts > MaxParts {
		return nil, false
	}
	if sh.repaired != nil {
		return sh.repaired, true
	}
	return raw, true
}

package mailsum

import (
	"bytes"
	"strings"
	"time"
)

// Summary is the header summary of one message.
type Summary struct {
	// From, To and Cc are decoded address lists, "Name <addr>, addr2".
	From, To, Cc string
	// Subject is decoded to UTF-8 with white space folded.
	Subject string
	// Date is the Date: header; zero if absent or unparsable.
	Date time.Time
	// MessageID is the Message-ID without angle brackets.
	MessageID string
	// HasAttachments tells whether any MIME part is an attachment (see the
	// package documentation for the rule).
	HasAttachments bool
}

const (
	maxHeader     = 256 << 10 // top-level header bytes kept
	maxPartHeader = 64 << 10  // header bytes of one MIME part kept
	// maxLine is how much of a body line is kept to compare with the
	// boundaries; longer lines are never delimiters (RFC 2046 §5.1.1
	// limits a boundary to 70 characters).
	maxLine     = 1024
	maxBoundary = maxLine - 8
	maxDepth    = 64 // nested multiparts followed
)

type state uint8

const (
	stTopHeader  state = iota // in the message header
	stPartHeader              // in the header of a MIME part
	stBody                    // in a body inside a multipart
	stDone                    // nothing more can change the summary
)

// level is one open multipart.
type level struct {
	delim   string // "--" + boundary
	subtype string // lower case: "mixed", "related", "digest", …
}

// Scanner computes the Summary of a message written to it. The zero value is
// ready to use; a Scanner is not safe for concurrent use.
type Scanner struct {
	st state

	hdr     []byte // the header block being collected
	hdrLine int    // offset in hdr of the current line
	hdrFull bool   // hdr reached its limit; further lines are dropped

	line    []byte // the first maxLine bytes of the current line
	lineLen int    // length of the current line so far
	noDelim bool   // the current line cannot be a boundary delimiter

	stack   []level
	top     Summary // the header fields, once topDone
	topDone bool
	hasAtt  bool
}

// NewScanner returns a Scanner for one message.
func NewScanner() *Scanner { return &Scanner{} }

// Parse returns the Summary of a whole message.
func Parse(raw []byte) Summary {
	var s Scanner
	_, _ = s.Write(raw) // never fails
	return s.Summary()
}

// Reset prepares s for the next message, keeping its buffers.
func (s *Scanner) Reset() {
	hdr := s.hdr[:0]
	if cap(hdr) > maxPartHeader {
		hdr = nil // do not keep a rare huge header alive
	}
	clear(s.stack)
	*s = Scanner{hdr: hdr, line: s.line[:0], stack: s.stack[:0]}
}

// Write scans p. It always returns len(p), nil, so that it never breaks the
// tee it sits in.
func (s *Scanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && s.st != stDone {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.add(p)
			break
		}
		s.add(p[:i])
		p = p[i+1:]
		s.endLine()
	}
	return n, nil
}

// Summary returns the summary of the bytes written so far; call it after
// the whole message was written. It does not change s.
func (s *Scanner) Summary() Summary {
	if !s.topDone { // no empty line after the header: all of it is header
		sum, p := parseTop(s.hdr)
		sum.HasAttachments = p.isAttachment("")
		return sum
	}
	sum := s.top
	sum.HasAttachments = s.hasAtt
	if s.st == stPartHeader && !s.hasAtt { // cut off inside a part header
		sum.HasAttachments = parsePart(s.hdr).isAttachment(s.parent())
	}
	return sum
}

// add takes the next bytes of the current line (without its '\n').
func (s *Scanner) add(b []byte) {
	if len(b) == 0 {
		return
	}
	if s.st == stBody {
		if s.noDelim {
			return
		}
		if s.lineLen == 0 && b[0] != '-' {
			s.noDelim = true
			return
		}
	} else {
		s.addHeader(b)
	}
	s.lineLen += len(b)
	if s.noDelim {
		return
	}
	if len(s.line)+len(b) > maxLine {
		s.noDelim = true
		return
	}
	s.line = append(s.line, b...)
}

// addHeader appends b to the header block, dropping the current line and
// everything after it once the block would exceed its limit.
func (s *Scanner) addHeader(b []byte) {
	if s.hdrFull {
		return
	}
	limit := maxPartHeader
	if s.st == stTopHeader {
		limit = maxHeader
	}
	if len(s.hdr)+len(b) > limit {
		s.hdr = s.hdr[:s.hdrLine]
		s.hdrFull = true
		return
	}
	s.hdr = append(s.hdr, b...)
}

// endLine handles the end of the current line.
func (s *Scanner) endLine() {
	switch s.st {
	case stTopHeader:
		if s.blank() {
			s.endTopHeader()
		} else {
			s.newHeaderLine()
		}
	case stPartHeader:
		if !s.delimiter() {
			if s.blank() {
				s.endPartHeader()
			} else {
				s.newHeaderLine()
			}
		}
	case stBody:
		s.delimiter()
	}
	s.line = s.line[:0]
	s.lineLen = 0
	s.noDelim = false
}

func (s *Scanner) newHeaderLine() {
	s.addHeader([]byte{'\n'})
	if !s.hdrFull {
		s.hdrLine = len(s.hdr)
	}
}

// blank tells whether the current line is empty (an optional CR aside).
func (s *Scanner) blank() bool {
	return s.lineLen == 0 || (s.lineLen == 1 && len(s.line) == 1 && s.line[0] == '\r')
}

// takeHeader returns the complete lines of the header block and empties it
// for the next one. The result is valid until the next write to s.hdr.
func (s *Scanner) takeHeader() []byte {
	h := s.hdr[:s.hdrLine]
	s.hdr = s.hdr[:0]
	s.hdrLine = 0
	s.hdrFull = false
	return h
}

func (s *Scanner) endTopHeader() {
	var p partInfo
	s.top, p = parseTop(s.takeHeader())
	s.topDone = true
	s.enterPart(p, "")
}

func (s *Scanner) endPartHeader() {
	s.enterPart(parsePart(s.takeHeader()), s.parent())
}

// parent returns the subtype of the innermost open multipart.
func (s *Scanner) parent() string {
	if len(s.stack) == 0 {
		return ""
	}
	return s.stack[len(s.stack)-1].subtype
}

// enterPart moves to the body of a part whose header was p.
func (s *Scanner) enterPart(p partInfo, parent string) {
	if p.isAttachment(parent) {
		s.hasAtt = true
		s.st = stDone
		return
	}
	sub, ok := strings.CutPrefix(p.mediaType, "multipart/")
	if ok && p.boundary != "" && len(p.boundary) <= maxBoundary && len(s.stack) < maxDepth {
		s.stack = append(s.stack, level{delim: "--" + p.boundary, subtype: sub})
	}
	if len(s.stack) == 0 {
		s.st = stDone
		return
	}
	s.st = stBody
}

// delimiter handles the current line if it is a delimiter or close
// delimiter of an open multipart (RFC 2046 §5.1.1: "--" boundary, optional
// "--", optional trailing white space). A delimiter of an outer multipart
// also closes the inner ones whose close delimiter is missing.
func (s *Scanner) delimiter() bool {
	if s.noDelim || len(s.line) < 2 || s.line[0] != '-' || s.line[1] != '-' {
		return false
	}
	l := bytes.TrimRight(s.line, " \t\r")
	for i := len(s.stack) - 1; i >= 0; i-- {
		d := s.stack[i].delim
		if len(l) < len(d) || string(l[:len(d)]) != d {
			continue
		}
		rest := l[len(d):]
		closing := string(rest) == "--"
		if len(rest) != 0 && !closing {
			continue
		}
		if s.st == stPartHeader { // a part with no empty line after its header
			s.endPartHeader()
			if s.st == stDone {
				return true
			}
		}
		if closing {
			clear(s.stack[i:])
			s.stack = s.stack[:i]
			s.st = stBody
			if i == 0 {
				s.st = stDone
			}
		} else {
			clear(s.stack[i+1:])
			s.stack = s.stack[:i+1]
			s.st = stPartHeader
		}
		return true
	}
	return false
}

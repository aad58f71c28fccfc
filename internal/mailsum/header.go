package mailsum

import (
	"bufio"
	"bytes"
	"mime"
	"strings"
	"unicode"

	"github.com/emersion/go-message/textproto"
)

// header is a header block as parsed by go-message's textproto.ReadHeader,
// in segments: ReadHeader stops at a line that is not a field (an mbox
// "From " line, a line with no colon or with white space in the name), so
// parseHeader skips that line and reads on into a new segment.
type header []textproto.Header

// parseHeader parses a header block (without the empty line ending it).
// Only the fields the summary reads (summaryFields) are handed to the
// parser: a real message's header is mostly Received and X- fields, and
// parsing them is most of the header's cost.
func parseHeader(block []byte) header {
	block = keepFields(block)
	if len(block) > 0 && block[len(block)-1] != '\n' { // cut off: end the last line
		block = append(block[:len(block):len(block)], '\n')
	}
	br := bufio.NewReaderSize(bytes.NewReader(block), min(len(block), 4096))
	var h header
	for {
		seg, err := textproto.ReadHeader(br)
		if seg.Len() > 0 {
			h = append(h, seg)
		}
		if err == nil { // the end of block; each error consumed a line
			return h
		}
	}
}

// summaryFields are the fields the summary and the attachment rule read,
// lower case.
var summaryFields = map[string]bool{
	"from": true, "to": true, "cc": true, "subject": true, "date": true, "message-id": true,
	"content-type": true, "content-disposition": true, "content-id": true,
}

// keepFields returns the lines of block that belong to fields named in
// summaryFields: a field's first line "Name:" and the continuation lines
// (starting with a space or a tab) that follow it. Other lines (other
// fields, and lines that are no field, which the parser would skip) are
// dropped with their continuations.
func keepFields(block []byte) []byte {
	out := make([]byte, 0, 512)
	keep := false
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i+1], block[i+1:]
		} else {
			block = nil
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, ok := bytes.Cut(line, []byte(":"))
			name = bytes.TrimRight(name, " \t") // "Subject :" is read as Subject
			keep = ok && len(name) <= 32 && summaryFields[strings.ToLower(string(name))]
		}
		if keep {
			out = append(out, line...)
		}
	}
	return out
}

// get returns the unfolded value of the first field k, "" if there is none.
func (h header) get(k string) string {
	for i := range h {
		if h[i].Has(k) {
			return h[i].Get(k)
		}
	}
	return ""
}

// values returns the values of every field k, in order.
func (h header) values(k string) []string {
	var vs []string
	for i := range h {
		vs = append(vs, h[i].Values(k)...)
	}
	return vs
}

// parseTop returns the summary fields of the message header and its MIME
// information. The first From, Subject, Date and Message-ID count; every To
// and Cc field is listed.
func parseTop(block []byte) (Summary, partInfo) {
	h := parseHeader(block)
	p := h.part()
	hint := p.charset
	return Summary{
		From:      formatAddressList(h.get("From"), hint),
		To:        formatAddressLists(h.values("To"), hint),
		Cc:        formatAddressLists(h.values("Cc"), hint),
		Subject:   decodeText(h.get("Subject"), hint),
		Date:      parseDate(h.get("Date")),
		MessageID: messageID(h.get("Message-Id")),
	}, p
}

// messageID returns the first <…> of v, or v, without white space. The
// strict msg-id grammar (go-message's mail.Header.MessageID) gives the same
// for well-formed values and nothing for ids without brackets or "@".
func messageID(v string) string {
	if _, after, ok := strings.Cut(v, "<"); ok {
		v, _, _ = strings.Cut(after, ">")
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(v, "\uFFFD"))
}

// partInfo is what the attachment rule needs from a part's header.
type partInfo struct {
	mediaType   string // lower case "type/subtype"; "" if absent
	boundary    string
	charset     string
	disposition string // lower case; "" if absent
	named       bool   // has a non-empty filename or name parameter
	contentID   bool
}

// parsePart reads a MIME part's header block.
func parsePart(block []byte) partInfo {
	return parseHeader(block).part()
}

func (h header) part() partInfo {
	var p partInfo
	var ct, cd map[string]string
	p.mediaType, ct = parseParams(h.get("Content-Type"))
	p.disposition, cd = parseParams(h.get("Content-Disposition"))
	p.boundary, p.charset = ct["boundary"], ct["charset"]
	p.named = ct["name"] != "" || ct["filename"] != "" || cd["name"] != "" || cd["filename"] != ""
	for _, id := range h.values("Content-Id") {
		p.contentID = p.contentID || id != ""
	}
	return p
}

// parseParams parses a Content-Type or Content-Disposition value with
// mime.ParseMediaType (which also joins RFC 2231 continuations). Where that
// rejects malformed input, such as "multipart/mixed boundary=x" without the
// semicolon or an unquoted boundary=----=_NextPart_000, the first word is
// taken as the type and the parameters the summary needs are picked out by
// looseParam.
func parseParams(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	typ, params, err := mime.ParseMediaType(v)
	if err == nil {
		return typ, params
	}
	if typ == "" {
		first, _, _ := strings.Cut(v, ";")
		if f := strings.Fields(first); len(f) > 0 && !strings.Contains(f[0], "=") {
			typ = strings.ToLower(f[0])
		}
	}
	params = make(map[string]string)
	for _, k := range []string{"boundary", "charset", "name", "filename"} {
		params[k] = looseParam(v, k)
	}
	return typ, params
}

// looseParam returns the value of parameter key in v: the quoted string
// after `key=`, or the text up to the next semicolon or white space.
func looseParam(v, key string) string {
	for i := 0; i+len(key) < len(v); i++ {
		if !strings.EqualFold(v[i:i+len(key)], key) || v[i+len(key)] != '=' ||
			i > 0 && !strings.ContainsRune(" \t;", rune(v[i-1])) {
			continue
		}
		val := v[i+len(key)+1:]
		if q, ok := strings.CutPrefix(val, `"`); ok {
			val, _, _ = strings.Cut(q, `"`)
			return val
		}
		if j := strings.IndexAny(val, " \t;"); j >= 0 {
			val = val[:j]
		}
		return val
	}
	return ""
}

// isAttachment applies the rule in the package documentation. parent is the
// subtype of the enclosing multipart, "" at the top level.
func (p partInfo) isAttachment(parent string) bool {
	mt := p.mediaType
	if mt == "" {
		mt = "text/plain" // RFC 2045 §5.2
		if parent == "digest" {
			mt = "message/rfc822" // RFC 2046 §5.1.5
		}
	}
	switch {
	case p.disposition == "attachment":
		return true
	case strings.HasPrefix(mt, "multipart/"):
		return false
	case mt == "message/rfc822" || mt == "message/global":
		return true
	case !p.named || strings.HasPrefix(mt, "text/"):
		return false
	case parent == "related" && p.contentID:
		return false // a resource of the HTML body
	}
	return true
}

package mailsum

import (
	"bytes"
	"strings"
)

// eachField calls fn with the name and unfolded value of every header field
// in block (RFC 5322 §2.2). Lines that are not fields (no colon, white space
// in the name, an mbox "From " line) are skipped with their continuation
// lines. value is only valid during the call.
func eachField(block []byte, fn func(name, value []byte)) {
	var name, val []byte
	flush := func() {
		if name != nil {
			fn(name, val)
		}
		name = nil
	}
	for len(block) > 0 {
		var line []byte
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			line, block = block, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if name != nil {
				val = append(val, line...) // unfolding removes the line break only
			}
			continue
		}
		flush()
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			continue
		}
		n := bytes.TrimRight(line[:c], " \t")
		if len(n) == 0 || bytes.ContainsAny(n, " \t") {
			continue
		}
		name = n
		val = append(val[:0], line[c+1:]...)
	}
	flush()
}

// topFields holds the raw (undecoded) values of the message header.
type topFields struct {
	from, to, cc, subject, date, msgID string
	part                               partInfo
	seen                               uint8 // bit set of single fields already taken
}

const (
	seenFrom = 1 << iota
	seenSubject
	seenDate
	seenMsgID
)

// parseTop collects the fields the summary needs. The first From, Subject,
// Date and Message-ID count; every To and Cc field is joined.
func parseTop(block []byte) topFields {
	var f topFields
	var p partFields
	eachField(block, func(name, value []byte) {
		switch strings.ToLower(string(name)) {
		case "from":
			f.first(seenFrom, &f.from, value)
		case "subject":
			f.first(seenSubject, &f.subject, value)
		case "date":
			f.first(seenDate, &f.date, value)
		case "message-id":
			f.first(seenMsgID, &f.msgID, value)
		case "to":
			f.to = joinList(f.to, value)
		case "cc":
			f.cc = joinList(f.cc, value)
		default:
			p.field(name, value)
		}
	})
	f.part = p.info()
	return f
}

func (f *topFields) first(bit uint8, dst *string, value []byte) {
	if f.seen&bit == 0 {
		f.seen |= bit
		*dst = string(value)
	}
}

func joinList(list string, value []byte) string {
	v := strings.TrimSpace(string(value))
	switch {
	case v == "":
		return list
	case list == "":
		return v
	}
	return list + ", " + v
}

func (f *topFields) summary() Summary {
	hint := f.part.charset
	return Summary{
		From:      formatAddressList(f.from, hint),
		To:        formatAddressList(f.to, hint),
		Cc:        formatAddressList(f.cc, hint),
		Subject:   clean(decodeText(f.subject, hint)),
		Date:      parseDate(f.date),
		MessageID: messageID(f.msgID),
	}
}

// messageID returns the first <…> of v, or v, without white space.
func messageID(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	return strings.Trim(dropSpace(v), "<>")
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

// partFields gathers the first Content-Type, Content-Disposition and
// Content-ID of a header.
type partFields struct {
	ctype, disp      string
	hasCType, hasCID bool
	hasDisp          bool
}

func (p *partFields) field(name, value []byte) {
	switch {
	case bytes.EqualFold(name, []byte("content-type")) && !p.hasCType:
		p.ctype, p.hasCType = string(value), true
	case bytes.EqualFold(name, []byte("content-disposition")) && !p.hasDisp:
		p.disp, p.hasDisp = string(value), true
	case bytes.EqualFold(name, []byte("content-id")):
		p.hasCID = p.hasCID || len(bytes.TrimSpace(value)) > 0
	}
}

func (p *partFields) info() partInfo {
	var in partInfo
	in.contentID = p.hasCID
	var isName bool
	in.mediaType = parseValue(p.ctype, func(name, value string) {
		switch {
		case name == "boundary" && in.boundary == "":
			in.boundary = value
		case name == "charset" && in.charset == "":
			in.charset = value
		}
		isName = isName || (value != "" && isNameParam(name))
	})
	in.disposition = parseValue(p.disp, func(name, value string) {
		isName = isName || (value != "" && isNameParam(name))
	})
	in.named = isName
	return in
}

// parsePart reads a MIME part's header block.
func parsePart(block []byte) partInfo {
	var p partFields
	eachField(block, p.field)
	return p.info()
}

func isNameParam(name string) bool {
	return name == "name" || name == "filename" ||
		strings.HasPrefix(name, "name*") || strings.HasPrefix(name, "filename*")
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

// parseValue reads a Content-Type or Content-Disposition value: it returns
// the lower-cased first token and calls fn for each parameter, with the name
// lower-cased and the value unquoted. It tolerates missing semicolons,
// unquoted specials and unterminated quotes.
func parseValue(v string, fn func(name, value string)) string {
	segs := splitParams(v)
	if len(segs) == 0 {
		return ""
	}
	first := strings.TrimSpace(segs[0])
	token := first
	if i := strings.IndexAny(first, " \t"); i >= 0 { // "multipart/mixed boundary=x"
		token = first[:i]
		segs[0] = first[i:]
	} else {
		segs = segs[1:]
	}
	if strings.Contains(token, "=") { // no token at all, only a parameter
		token = ""
		segs = append(segs, first)
	}
	for _, seg := range segs {
		eq := strings.IndexByte(seg, '=')
		if eq < 0 {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(seg[:eq]))
		fn(name, unquote(strings.TrimSpace(seg[eq+1:])))
	}
	return strings.ToLower(token)
}

// splitParams splits v at semicolons outside quoted strings.
func splitParams(v string) []string {
	var segs []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			segs = append(segs, v[start:i])
			start = i + 1
		}
	}
	return append(segs, v[start:])
}

// unquote removes the quotes of a quoted-string (ignoring what follows it);
// a bare value is returned as it is.
func unquote(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

package render

import (
	"strings"
	"unicode/utf8"
)

// MaxSearchText is the most body text indexed per message, in bytes.
const MaxSearchText = 256 << 10

// SearchText returns the body text the search index holds for a parsed
// message: the plain-text body (enmime converts HTML-only bodies), the
// names of the attachments, cut at MaxSearchText; nothing for a message
// over MaxParse or too complex to read.
func SearchText(m *Message) string {
	if m == nil || m.TooLarge || m.TooComplex {
		return ""
	}
	var b strings.Builder
	b.WriteString(m.Text())
	for _, a := range m.Attachments() {
		if a.FileName != "" {
			b.WriteString("\n")
			b.WriteString(a.FileName)
		}
	}
	s := b.String()
	if len(s) > MaxSearchText {
		s = s[:MaxSearchText]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

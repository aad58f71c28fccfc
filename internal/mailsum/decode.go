package mailsum

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// decodeText decodes the RFC 2047 encoded words in s (RFC 2047 §6.2:
// white space between adjacent encoded words is dropped) and converts the
// text around them with the charset hint. It does not clean the result.
func decodeText(s, hint string) string {
	var out strings.Builder
	var run []byte    // bytes of adjacent encoded words in runCS
	var runCS string  // charset of run
	haveRun := false  // run holds words not yet converted
	lastWord := false // the previous token was an encoded word
	text, pos := 0, 0 // start of pending plain text; search position
	flush := func() {
		if haveRun {
			out.WriteString(toUTF8(run, runCS))
			run, haveRun = run[:0], false
		}
	}
	for pos < len(s) {
		j := strings.Index(s[pos:], "=?")
		if j < 0 {
			break
		}
		start := pos + j
		cs, data, end, ok := encodedWord(s, start)
		if !ok {
			pos = start + 2
			continue
		}
		between := s[text:start]
		if !lastWord || strings.TrimLeft(between, " \t\r\n") != "" {
			flush()
			out.WriteString(toUTF8([]byte(between), hint))
		}
		if haveRun && cs != runCS {
			flush()
		}
		run, runCS, haveRun = append(run, data...), cs, true
		lastWord = true
		text, pos = end, end
	}
	flush()
	out.WriteString(toUTF8([]byte(s[text:]), hint))
	return out.String()
}

// encodedWord decodes the encoded word "=?charset?e?text?=" at s[start:]
// and returns its charset, its bytes and the offset after it.
func encodedWord(s string, start int) (cs string, data []byte, end int, ok bool) {
	rest := s[start+2:]
	q := strings.IndexByte(rest, '?')
	if q <= 0 || q > 64 || strings.ContainsAny(rest[:q], " \t\r\n=") || len(rest) < q+3 || rest[q+2] != '?' {
		return "", nil, 0, false
	}
	cs, enc := rest[:q], rest[q+1]
	body := rest[q+3:]
	e := strings.Index(body, "?=")
	if e < 0 {
		return "", nil, 0, false
	}
	switch enc {
	case 'B', 'b':
		data = decodeB(body[:e])
	case 'Q', 'q':
		data = decodeQ(body[:e])
	default:
		return "", nil, 0, false
	}
	end = start + 2 + q + 3 + e + 2
	return cs, data, end, true
}

// decodeB decodes base64 leniently: white space is ignored, padding is
// optional, and whatever decodes before an error is kept.
func decodeB(t string) []byte {
	t = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, t)
	t = strings.TrimRight(t, "=")
	dst := make([]byte, base64.RawStdEncoding.DecodedLen(len(t)))
	n, _ := base64.RawStdEncoding.Decode(dst, []byte(t))
	return dst[:n]
}

// decodeQ decodes the Q encoding (RFC 2047 §4.2); a malformed =XX is kept.
func decodeQ(t string) []byte {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			out = append(out, unhex(t[i+1])<<4|unhex(t[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// toUTF8 converts b from the charset label to UTF-8, with the fallbacks in
// the package documentation. An empty label means raw header bytes.
func toUTF8(b []byte, label string) string {
	cs := normCharset(label)
	switch {
	case cs == "" || cs == "utf-8":
		return guessUTF8(b)
	case isASCII(b) && !isStateful(cs):
		return string(b)
	case singleByte(cs) && utf8.Valid(b):
		return string(b) // valid multi-byte UTF-8 mislabelled as 8-bit
	case cs == "us-ascii" || cs == "ascii" || cs == "iso-8859-1" || cs == "latin1":
		return windows1252(b)
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return guessUTF8(b)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return guessUTF8(b)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// normCharset lower-cases a charset label and drops an RFC 2231 language.
func normCharset(label string) string {
	cs := strings.ToLower(strings.Trim(label, " \t\"'"))
	if i := strings.IndexByte(cs, '*'); i >= 0 {
		cs = cs[:i]
	}
	switch cs {
	case "utf8", "unicode-1-1-utf-8", "x-unicode20utf8":
		cs = "utf-8"
	case "iso8859-1", "iso_8859-1", "latin-1", "l1", "us_ascii", "usascii":
		cs = "latin1"
	}
	return cs
}

// guessUTF8 keeps valid UTF-8, reads text with no valid multi-byte sequence
// as windows-1252, and otherwise replaces the invalid bytes.
func guessUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if n > 1 && r != utf8.RuneError {
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}
		i += n
	}
	return windows1252(b)
}

func windows1252(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// isStateful tells whether a charset encodes non-ASCII text in 7-bit bytes.
func isStateful(cs string) bool {
	return strings.HasPrefix(cs, "iso-2022") || strings.HasPrefix(cs, "utf-7") ||
		strings.HasPrefix(cs, "hz") || strings.HasPrefix(cs, "csiso2022")
}

// singleByte tells whether cs is a single-byte charset, where text that is
// valid multi-byte UTF-8 is far more likely to be mislabelled than genuine.
func singleByte(cs string) bool {
	for _, p := range []string{"iso-8859", "iso8859", "iso_8859", "windows-125", "cp125", "koi8", "us-ascii", "ascii", "latin"} {
		if strings.HasPrefix(cs, p) {
			return true
		}
	}
	return false
}

// clean makes decoded text fit for display and storage: invalid UTF-8 is
// replaced, control characters become spaces, runs of white space are
// folded to one space and the ends are trimmed.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

package mailsum

import (
	"io"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// wordDecoder decodes RFC 2047 encoded words. mime.WordDecoder converts
// UTF-8 (bytes copied as they are), ISO-8859-1 and US-ASCII itself and asks
// charsetReader for every other charset, one word at a time.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// charsetReader converts the text of an encoded word to UTF-8 with
// go-message's charset tables. An RFC 2231 §5 language suffix
// ("utf-8*de") is dropped first. Text in a charset go-message does not know
// goes through guessUTF8 instead of failing the whole header.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	label, _, _ = strings.Cut(label, "*")
	if cr, err := charset.Reader(label, r); err == nil {
		return cr, nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(guessUTF8(string(b))), nil
}

// decodeText decodes an unstructured header value (RFC 2047 §5 (1)) for
// display: raw 8-bit bytes with raw8bit, then the encoded words with
// mime.WordDecoder.DecodeHeader, which drops the white space between
// adjacent words and leaves malformed ones as they are.
func decodeText(v, hint string) string {
	v = raw8bit(v, hint)
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return clean(guessUTF8(v)) // UTF-8 words are copied unchecked
}

// raw8bit converts raw 8-bit header bytes, which RFC 5322 does not allow but
// old mailers sent, to UTF-8: valid UTF-8 is kept; otherwise hint, the
// charset of the top-level Content-Type, is used if go-message knows it,
// and guessUTF8 if not.
func raw8bit(v, hint string) string {
	if utf8.ValidString(v) {
		return v
	}
	if hint != "" && !strings.EqualFold(hint, "utf-8") {
		if r, err := charset.Reader(hint, strings.NewReader(v)); err == nil {
			if b, err := io.ReadAll(r); err == nil {
				return string(b)
			}
		}
	}
	return guessUTF8(v)
}

// guessUTF8 keeps valid UTF-8, reads text with no valid multi-byte sequence
// as windows-1252, and otherwise replaces the invalid bytes.
func guessUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		if n > 1 {
			return strings.ToValidUTF8(s, "\uFFFD")
		}
		i += n
	}
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

// clean makes decoded text fit for display and storage: invalid UTF-8 is
// replaced; C1 controls, which ISO-8859-1 decoding gives where windows-1252
// was meant (WHATWG Encoding reads that label as windows-1252 for this
// reason), are read as windows-1252; other control characters become
// spaces, runs of white space are folded to one space and the ends are
// trimmed.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if 0x80 <= r && r <= 0x9f {
			if w := charmap.Windows1252.DecodeByte(byte(r)); w != utf8.RuneError {
				r = w
			}
		}
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

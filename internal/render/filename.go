package render

import (
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFileName is the longest file name offered, in runes.
const maxFileName = 100

// SafeFileName returns name without directories, control and reserved
// characters, leading dots and excess length, with ext ("" or ".eml")
// appended; fallback when nothing is left.
func SafeFileName(name, fallback, ext string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), strings.ContainsRune(`"*:<>?|/\%;`, r):
			return '_'
		case unicode.Is(unicode.Bidi_Control, r):
			return -1 // would reorder what the name shows: "invoice‮fdp.exe"
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	name = strings.TrimLeft(name, ". ")
	if r := []rune(name); len(r) > maxFileName {
		name = strings.TrimSpace(string(r[:maxFileName]))
	}
	if name == "" || strings.Trim(name, "_") == "" {
		name = fallback
	}
	if ext != "" && !strings.HasSuffix(strings.ToLower(name), ext) {
		name += ext
	}
	return name
}

// ContentDisposition returns an attachment Content-Disposition value for a
// file name already made safe, RFC 2231-encoded when it is not ASCII.
func ContentDisposition(safeName string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": safeName}); v != "" {
		return v
	}
	return "attachment"
}

// ShownName is a name from a mailbox (a folder, a subject, a sender) as a
// page shows it: without the bidirectional controls that would reorder
// it ("invoice\u202efdp.exe" shows as "invoiceexe.pdf").
func ShownName(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
}

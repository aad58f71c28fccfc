package export

import (
	"fmt"
	"slices"
	"strings"
)

// maildirLetters are the standard Maildir info flags
// (https://cr.yp.to/proto/maildir.html) and the IMAP flags they stand for.
var maildirLetters = []struct {
	flag   string
	letter byte
}{
	{`\Draft`, 'D'},
	{`\Flagged`, 'F'},
	{`$Forwarded`, 'P'},
	{`\Answered`, 'R'},
	{`\Seen`, 'S'},
	{`\Deleted`, 'T'},
}

// maxKeywordLetters is the number of keyword letters a..z.
const maxKeywordLetters = 26

// keywords assigns Dovecot keyword letters within one Maildir.
type keywords struct {
	names  []string        // names[i] has letter 'a'+i
	letter map[string]byte // lower-cased name -> letter
}

// info returns the Maildir flag letters of flags in ASCII order, assigning
// keyword letters as needed, and the flags that get no letter.
func (k *keywords) info(flags []string) (letters string, rest []string, err error) {
	var b []byte
	for _, f := range flags {
		if err := checkFlag(f); err != nil {
			return "", nil, err
		}
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		if l, ok := systemLetter(f); ok {
			b = append(b, l)
			continue
		}
		if l, ok := k.assign(f); ok {
			b = append(b, l)
			continue
		}
		rest = append(rest, f)
	}
	slices.Sort(b)
	return string(slices.Compact(b)), rest, nil
}

// systemLetter returns the standard letter of flag f, if it has one.
func systemLetter(f string) (byte, bool) {
	for _, m := range maildirLetters {
		if strings.EqualFold(f, m.flag) {
			return m.letter, true
		}
	}
	return 0, false
}

// assign returns the keyword letter of f, giving it the next free one if it
// has none. System flags (\...) and keywords beyond the 26th get none.
func (k *keywords) assign(f string) (byte, bool) {
	if strings.HasPrefix(f, `\`) {
		return 0, false
	}
	key := strings.ToLower(f)
	if l, ok := k.letter[key]; ok {
		return l, true
	}
	if len(k.names) == maxKeywordLetters {
		return 0, false
	}
	if k.letter == nil {
		k.letter = make(map[string]byte)
	}
	l := byte('a' + len(k.names))
	k.names = append(k.names, f)
	k.letter[key] = l
	return l, true
}

// file returns the content of dovecot-keywords: one "<index> <keyword>" line
// per letter.
func (k *keywords) file() []byte {
	var b []byte
	for i, name := range k.names {
		b = fmt.Appendf(b, "%d %s\n", i, name)
	}
	return b
}

// checkFlag fails for a flag that is not an IMAP atom-like word: empty, or
// holding a space or control character. Such a flag could break the
// line-based keyword files.
func checkFlag(f string) error {
	if f == "" {
		return fmt.Errorf("empty flag")
	}
	for i := 0; i < len(f); i++ {
		if f[i] <= ' ' || f[i] == 0x7f {
			return fmt.Errorf("flag %q cannot be exported: it holds a space or control character", f)
		}
	}
	return nil
}

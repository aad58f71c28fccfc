package render

import (
	"bytes"
	"io"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // the reference decodes every charset it knows
	"github.com/jhillyerd/enmime/v2"

	"mtm/internal/testenv/corpus"
)

// charsetCase is one message of a corpus whose first text/plain part the
// reference (go-message) decodes.
type charsetCase struct {
	name, charset, want string
	raw                 []byte
	valid               bool
}

// referenceText decodes the first text/plain part of raw with go-message,
// by its declared charset: what the user should read. ok is false when
// there is no such part, or the reference cannot decode it either.
func referenceText(raw []byte) (text, charset string, ok bool) {
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil || (err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
		return "", "", false
	}
	var found, failed bool
	walkErr := e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil || found {
			failed = failed || err != nil
			return nil
		}
		t, params, perr := part.Header.ContentType()
		if perr != nil || t != "text/plain" {
			return nil
		}
		if part.Header.Get("Content-Disposition") != "" {
			if d, _, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition")); d == "attachment" {
				return nil
			}
		}
		b, rerr := io.ReadAll(part.Body)
		if rerr != nil {
			failed = true
			return nil
		}
		text, charset, found = string(b), strings.ToLower(params["charset"]), true
		return nil
	})
	if walkErr != nil || failed || !found {
		return "", "", false
	}
	return text, charset, true
}

// charsetCase.valid: the reference's text is valid UTF-8. When it is not,
// the bytes do not fit the declared charset (Windows-1252 quotes under
// us-ascii, say) and the reference cannot say what is right: such a
// message is only checked to be shown as valid UTF-8.

// squeeze drops every space, so that the comparison is of the characters
// shown, not of the line breaks each parser keeps.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

// charsetCases are the messages of the SpamAssassin corpus and of
// enmime's test data that the reference reads.
func charsetCases(t *testing.T) []charsetCase {
	var out []charsetCase
	add := func(name string, raw []byte) {
		if want, cs, ok := referenceText(raw); ok {
			out = append(out, charsetCase{name: name, charset: cs, want: want, raw: raw, valid: utf8.ValidString(want)})
		}
	}
	for _, m := range corpus.SpamAssassin(t) {
		add("spamassassin/"+m.Set+"/"+m.Name, m.Bytes)
	}
	dir := filepath.Join(moduleDir(t, "github.com/jhillyerd/enmime/v2"), "testdata")
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".raw") {
			return err
		}
		raw, err := os.ReadFile(p)
		if err == nil {
			rel, _ := filepath.Rel(dir, p)
			add("enmime/"+rel, raw)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCharsetsAgainstAReference: every message of the two corpora whose
// plain text go-message can decode is shown with the same characters. The
// only differences allowed are of which parts are shown, never of how
// their bytes are read: the webmail shows every inline text part where the
// reference takes the first (list footers, inline patches, sections), and
// a multipart/alternative's HTML where the reference takes a part with no
// header. The table of differences by declared charset, before (the parser
// guessing first) and now, is logged (-v) for the closing note.
func TestCharsetsAgainstAReference(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the corpus")
	}
	cases := charsetCases(t)
	before := enmime.NewParser(enmime.SkipMalformedParts(true))
	type row struct{ total, before, now, misfit, misfitBefore int }
	table := map[string]*row{}
	var differ []string
	for _, c := range cases {
		cs := c.charset
		if cs == "" {
			cs = "(none)"
		}
		r := table[cs]
		if r == nil {
			r = &row{}
			table[cs] = r
		}
		m, err := Parse(c.raw)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		env, err := before.ReadEnvelope(bytes.NewReader(c.raw))
		if !c.valid {
			// Not comparable: count the texts shown with bytes that are not
			// characters (the browser shows them as �).
			r.misfit++
			if err == nil && !utf8.ValidString(env.Text) {
				r.misfitBefore++
			}
			if !utf8.ValidString(m.Text()) {
				t.Errorf("%s: shown text is not valid UTF-8", c.name)
			}
			continue
		}
		r.total++
		want := squeeze(c.want)
		if err == nil && squeeze(env.Text) != want {
			r.before++
		}
		if got := squeeze(m.Text()); got != want {
			r.now++
			why := "other parts shown too"
			switch {
			case strings.HasPrefix(got, want):
			case m.HasHTML():
				why = "its HTML alternative shown"
			default:
				why = "read differently"
				t.Errorf("%s (%s): shown differently from the reference", c.name, cs)
			}
			differ = append(differ, c.name+" ("+cs+"): "+why)
		}
	}
	names := make([]string, 0, len(table))
	for k := range table {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| declared charset | messages | shown differently before | now | bytes not of the charset | shown with non-characters before | now |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var tot row
	line := func(k string, r row) {
		b.WriteString("| " + k + " | " + strconv.Itoa(r.total) + " | " + strconv.Itoa(r.before) + " | " + strconv.Itoa(r.now) +
			" | " + strconv.Itoa(r.misfit) + " | " + strconv.Itoa(r.misfitBefore) + " | 0 |\n")
	}
	for _, k := range names {
		r := table[k]
		tot.total, tot.before, tot.now = tot.total+r.total, tot.before+r.before, tot.now+r.now
		tot.misfit, tot.misfitBefore = tot.misfit+r.misfit, tot.misfitBefore+r.misfitBefore
		line(k, *r)
	}
	line("all", tot)
	t.Logf("%d messages compared with go-message's decoding:\n%s\nstill different:\n%s", len(cases), b.String(),
		strings.Join(differ, "\n"))
	if len(cases) < 5000 {
		t.Errorf("only %d messages compared", len(cases))
	}
	if tot.now > tot.before {
		t.Errorf("more messages shown differently now (%d) than before (%d)", tot.now, tot.before)
	}
}

// moduleDir is where the module cache holds a dependency's source.
func moduleDir(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", path).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("locating %s: %v", path, err)
	}
	return dir
}

package render

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mtm/internal/testenv/corpus"
	"mtm/internal/testenv/hostile"
)

// Each input's budget: what parsing and rendering it may cost at most.
// Measured on the whole corpus the worst is a few ms and a few MiB; the
// budgets leave room for the fuzzer's instrumentation and a loaded machine.
const (
	fuzzTime         = 2 * time.Second
	fuzzAllocBase    = 64 << 20 // bytes, plus fuzzAllocPerByte for each input byte
	fuzzAllocPerByte = 200
)

// FuzzParse: whatever the bytes, parsing and everything the webmail does
// with a message (its text, sanitized HTML, attachments, attached messages,
// search text) ends within a time and memory budget, never panics, shows
// valid UTF-8 and no script. Seeded with the hostile set, enmime's broken
// and odd messages and a sample of the SpamAssassin corpus:
//
//	go test ./internal/render -run '^$' -fuzz FuzzParse -fuzztime 5m
func FuzzParse(f *testing.F) {
	for _, m := range hostile.Messages() {
		f.Add(m.Raw)
	}
	dir := filepath.Join(moduleDir(f, "github.com/jhillyerd/enmime/v2"), "testdata")
	if err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".raw") {
			b, rerr := os.ReadFile(p)
			if rerr == nil {
				f.Add(b)
			}
			return rerr
		}
		return err
	}); err != nil {
		f.Fatal(err)
	}
	for i, m := range corpus.SpamAssassin(f) {
		if i%25 == 0 {
			f.Add(m.Bytes)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		renderAll(t, raw, 0)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if took > fuzzTime {
			t.Errorf("%d bytes took %v (budget %v)", len(raw), took, fuzzTime)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > fuzzAllocBase+fuzzAllocPerByte*uint64(len(raw)) {
			t.Errorf("%d bytes allocated %d MiB", len(raw), alloc>>20)
		}
	})
}

// renderAll does to raw what the webmail and the indexer do, and checks
// what they show.
func renderAll(t *testing.T, raw []byte, depth int) {
	m, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v (a stored message must always open)", err)
	}
	if !utf8.ValidString(m.Text()) {
		t.Errorf("text is not valid UTF-8")
	}
	for _, h := range []string{m.Headers.Subject, m.Headers.From, m.Headers.To, m.Headers.Date} {
		if !utf8.ValidString(h) || strings.ContainsAny(h, "\r\n") {
			t.Errorf("header %q: not one line of UTF-8", h)
		}
	}
	for _, remote := range []bool{false, true} {
		checkSafe(t, "fuzz", m.SanitizedHTML(remote).HTML, remote)
	}
	_ = SearchText(m)
	for _, a := range m.Attachments() {
		if _, _, err := m.Part(a.Index); err != nil {
			t.Errorf("part %d listed but not served: %v", a.Index, err)
		}
		if a.IsMessage && depth < 2 {
			if inner, err := m.Attached(a.Index); err == nil {
				_ = inner
				if b, ok := attachedRaw(m, a.Index); ok {
					renderAll(t, b, depth+1)
				}
			}
		}
	}
}

// attachedRaw is the bytes of attached message i.
func attachedRaw(m *Message, i int) ([]byte, bool) {
	_, b, err := m.Part(i)
	return b, err == nil
}

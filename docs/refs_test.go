// Package docs holds mtm's documentation; its test checks that code
// comments point at headings that exist.
package docs

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ref is a quoted reference to a document's heading in a comment:
// `docs/workflows.md, "Restore"`, `design.md ("Data directory layout")` or
// `docs/workflows.md "Outbox"`. Comment lines are joined first, so a
// reference may be wrapped.
var ref = regexp.MustCompile(`(?:docs/)?([a-z]+\.md),?\s*\(?"([^"]+)"`)

// TestCommentReferencesNameHeadings checks that every reference to a
// heading of a document of docs/ in a Go comment names a heading that
// exists: the quoted text is a whole heading, or its start up to a comma
// or a parenthesis ("Deleting blobs" for "Deleting blobs, and why ...").
func TestCommentReferencesNameHeadings(t *testing.T) {
	headings := map[string][]string{}
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		headings[d] = readHeadings(t, d)
	}
	n := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "third_party" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && d.Name() != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		for _, m := range references(t, path) {
			n++
			doc, heading := m[0], m[1]
			hs, ok := headings[doc]
			if !ok {
				t.Errorf("%s: %s, %q: no such document in docs/", path, doc, heading)
				continue
			}
			if !names(hs, heading) {
				t.Errorf("%s: docs/%s has no heading %q", path, doc, heading)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Errorf("found only %d references: the pattern no longer matches the comments", n)
	}
}

// references returns the (document, heading) pairs quoted in the comments
// of a Go file.
func references(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, g := range f.Comments {
		text := strings.Join(strings.Fields(g.Text()), " ")
		for _, m := range ref.FindAllStringSubmatch(text, -1) {
			out = append(out, [2]string{m[1], m[2]})
		}
	}
	return out
}

func readHeadings(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // read only
	var hs []string
	inCode := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if !inCode && strings.HasPrefix(line, "#") {
			hs = append(hs, strings.TrimSpace(strings.TrimLeft(line, "#")))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return hs
}

func names(headings []string, h string) bool {
	for _, x := range headings {
		if x == h {
			return true
		}
		if rest, ok := strings.CutPrefix(x, h); ok && (strings.HasPrefix(rest, ",") || strings.HasPrefix(rest, " (")) {
			return true
		}
	}
	return false
}

package export

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// message returns a Message whose Open yields body.
func message(uid uint32, date time.Time, body string, flags ...string) Message {
	return Message{UID: uid, Flags: flags, InternalDate: date, Size: int64(len(body)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
}

var errCorrupt = errors.New("blob is corrupt")

// failAtEOF returns the bytes of r, then err instead of io.EOF, as a blob
// reader does for a corrupt blob.
type failAtEOF struct {
	r   io.Reader
	err error
}

func (f *failAtEOF) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

// errCloser is a reader whose Close fails.
type errCloser struct{ io.Reader }

func (errCloser) Close() error { return errCorrupt }

// failing returns messages that fail in each way a blob can: at Open, while
// reading, and at Close.
func failing(uid uint32) map[string]Message {
	date := time.Unix(1700000000, 0)
	big := strings.Repeat("x", 3*bufSize) + "\r\n"
	open := message(uid, date, "")
	open.Open = func() (io.ReadCloser, error) { return nil, errCorrupt }
	read := message(uid, date, "")
	read.Open = func() (io.ReadCloser, error) {
		return io.NopCloser(&failAtEOF{strings.NewReader(big), errCorrupt}), nil
	}
	cls := message(uid, date, "")
	cls.Open = func() (io.ReadCloser, error) { return errCloser{strings.NewReader(big)}, nil }
	return map[string]Message{"open": open, "read": read, "close": cls}
}

// checkFailure checks that err is the failure of message uid of folder name.
func checkFailure(t *testing.T, err error, name string, uid uint32) {
	t.Helper()
	if !errors.Is(err, errCorrupt) {
		t.Fatalf("Add = %v, want an error wrapping %v", err, errCorrupt)
	}
	for _, want := range []string{strconv.Quote(name), "uid " + strconv.FormatUint(uint64(uid), 10)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// writers are the constructors under test.
var writers = map[string]func(string) (Writer, error){"maildir": NewMaildir, "mbox": NewMbox}

func TestDirMustBeEmpty(t *testing.T) {
	t.Parallel()
	for format, newWriter := range writers {
		t.Run(format+"/not empty", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			keep := filepath.Join(dir, "keep")
			if err := os.WriteFile(keep, []byte("mine"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := newWriter(dir); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("%s(non-empty dir) = %v, want a not-empty error", format, err)
			}
			if got := listTree(t, dir); !slices.Equal(got, []string{"keep"}) {
				t.Errorf("dir holds %q, want only keep", got)
			}
			if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
				t.Errorf("keep = %q, %v; want it unchanged", b, err)
			}
		})
		t.Run(format+"/file", func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(path, []byte("mine"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := newWriter(path); err == nil {
				t.Fatalf("%s(file) succeeded", format)
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != "mine" {
				t.Errorf("file = %q, %v; want it unchanged", b, err)
			}
		})
		t.Run(format+"/absent", func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "a", "b")
			w, err := newWriter(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Errorf("Stat(dir) = %v, %v; want a directory", fi, err)
			}
		})
		t.Run(format+"/empty", func(t *testing.T) {
			t.Parallel()
			w, err := newWriter(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFolderPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, delim, want string
	}{
		{"INBOX", "/", "INBOX"},
		{"Archive/2024", "/", "Archive/2024"},
		{"INBOX.Entwürfe", ".", "INBOX/Entwürfe"},
		{"日本語/メール", "/", "日本語/メール"},
		{"a.b c", "/", "a.b c"},
		{"a/b", "", "a%2Fb"},
		{"a/b", ".", "a%2Fb"},
		{"..", "/", "%2E."},
		{".", "/", "%2E"},
		{".hidden", "/", "%2Ehidden"},
		{"../../etc", "/", "%2E./%2E./etc"},
		{"a/../../b", "/", "a/%2E./%2E./b"},
		{"..", ".", "%/%/%"},
		{"", "/", "%"},
		{"/", "/", "%/%"},
		{"a//b", "/", "a/%/b"},
		{"-rf", "/", "%2Drf"},
		{"a-b", "/", "a-b"},
		{"a\x00b", "/", "a%00b"},
		{"a\nb\x7f", "/", "a%0Ab%7F"},
		{"a\u0085b", "/", "a%C2%85b"},
		{"\xff\xfe", "/", "%FF%FE"},
		{"a%2Fb", "/", "a%252Fb"},
		{"100%", "/", "100%25"},
		{"cur", "/", "%63ur"},
		{"INBOX/new", "/", "INBOX/%6Eew"},
		{"INBOX/TMP", "/", "INBOX/%54MP"},
		{"dovecot-keywords", "/", "%64ovecot-keywords"},
		{"Mtm-Keywords", "/", "%4Dtm-Keywords"},
		{"curly", "/", "curly"},
		{"x.mbox", "/", "x%2Embox"},
		{"x.MBox/y", "/", "x%2EMBox/y"},
		{".mbox", "/", "%2Embox"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.name)+tt.delim, func(t *testing.T) {
			t.Parallel()
			got := strings.Join(folderPath(Folder{Name: tt.name, Delimiter: tt.delim}), "/")
			if got != tt.want {
				t.Errorf("folderPath(%q, %q) = %q, want %q", tt.name, tt.delim, got, tt.want)
			}
		})
	}
}

func FuzzFolderPath(f *testing.F) {
	for _, s := range []string{"INBOX", "a/b", "..", "../x", "a\x00b", "cur", "%", "x.mbox", "Entwürfe", "\xff", ""} {
		f.Add(s, "/")
		f.Add(s, ".")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, name, delim string) {
		parts := folderPath(Folder{Name: name, Delimiter: delim})
		decoded := make([]string, len(parts))
		for i, p := range parts {
			checkComponent(t, p)
			decoded[i] = decodePart(t, p)
		}
		if delim == "" && len(decoded) != 1 {
			t.Fatalf("folderPath(%q, \"\") has %d parts", name, len(decoded))
		}
		if got := strings.Join(decoded, delim); got != name {
			t.Fatalf("folderPath(%q, %q) = %q decodes to %q", name, delim, parts, got)
		}
	})
}

// checkComponent fails if p is not a safe path component.
func checkComponent(t *testing.T, p string) {
	t.Helper()
	switch {
	case p == "", p == ".", p == "..", strings.ContainsAny(p, "/\x00"),
		p[0] == '.', p[0] == '-', !utf8.ValidString(p):
		t.Fatalf("unsafe component %q", p)
	case strings.HasSuffix(strings.ToLower(p), mboxSuffix):
		t.Fatalf("component %q ends in %s", p, mboxSuffix)
	}
	for _, r := range reserved {
		if strings.EqualFold(p, r) {
			t.Fatalf("component %q is reserved", p)
		}
	}
}

// decodePart inverts encodePart.
func decodePart(t *testing.T, p string) string {
	t.Helper()
	if p == "%" {
		return ""
	}
	var b bytes.Buffer
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+3 > len(p) {
			t.Fatalf("component %q: truncated escape", p)
		}
		c, err := strconv.ParseUint(p[i+1:i+3], 16, 8)
		if err != nil {
			t.Fatalf("component %q: %v", p, err)
		}
		b.WriteByte(byte(c))
		i += 2
	}
	return b.String()
}

// listTree returns the slash-separated paths of everything under root,
// sorted, directories included.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		rel, err := filepath.Rel(root, path)
		paths = append(paths, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

package export

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// export runs a Writer over folders, each with its messages, and fails the
// test on any error.
func export(t *testing.T, w Writer, folders []Folder, msgs map[string][]Message) {
	t.Helper()
	for _, f := range folders {
		fw, err := w.Folder(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs[f.Name] {
			if err := fw.Add(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// curFiles returns the names of the files in the cur directory of maildir,
// and fails if new or tmp holds anything.
func curFiles(t *testing.T, maildir string) []string {
	t.Helper()
	for _, sub := range []string{"new", "tmp"} {
		if es, err := os.ReadDir(filepath.Join(maildir, sub)); err != nil || len(es) > 0 {
			t.Errorf("%s/%s = %v, %v; want an empty directory", maildir, sub, es, err)
		}
	}
	es, err := os.ReadDir(filepath.Join(maildir, "cur"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestMaildirMessages(t *testing.T) {
	t.Parallel()
	binary := make([]byte, 0, 512)
	for i := range 512 {
		binary = append(binary, byte(i))
	}
	date := time.Date(2023, 11, 15, 0, 13, 20, 0, time.FixedZone("", 2*3600)) // 1700000000
	tests := []struct {
		name  string
		body  string
		flags []string
		info  string
	}{
		{"crlf", "From: a@example.org\r\nSubject: x\r\n\r\nFrom here\r\nbody\r\n", []string{`\Seen`}, "S"},
		{"binary", "Subject: 8bit\n\n" + string(binary), []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, `\Deleted`, `$Forwarded`}, "DFPRST"},
		{"no final newline", "Subject: y\r\n\r\nno newline", nil, ""},
		{"empty", "", []string{`\Recent`}, ""},
		{"case and duplicates", "x", []string{`\seen`, `\SEEN`, `$forwarded`}, "PS"},
		{"big", strings.Repeat("0123456789abcdef\r\n", 100000), []string{`\Flagged`}, "F"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w, err := NewMaildir(dir)
			if err != nil {
				t.Fatal(err)
			}
			uid := uint32(i + 40)
			export(t, w, []Folder{{Name: "INBOX", Delimiter: "/"}},
				map[string][]Message{"INBOX": {message(uid, date, tt.body, tt.flags...)}})
			names := curFiles(t, filepath.Join(dir, "INBOX"))
			if len(names) != 1 {
				t.Fatalf("cur holds %q, want one file", names)
			}
			want := fmt.Sprintf(`^1700000000\.Q1U%d\.mtm:2,%s$`, uid, tt.info)
			if !regexp.MustCompile(want).MatchString(names[0]) {
				t.Errorf("file name %q does not match %s", names[0], want)
			}
			path := filepath.Join(dir, "INBOX", "cur", names[0])
			if b, err := os.ReadFile(path); err != nil || string(b) != tt.body {
				t.Errorf("content differs (%d bytes, want %d), %v", len(b), len(tt.body), err)
			}
			if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(date) {
				t.Errorf("mtime = %v, %v; want %v", fi.ModTime(), err, date)
			}
			if _, err := os.Stat(filepath.Join(dir, "INBOX", keywordsFile)); !os.IsNotExist(err) {
				t.Errorf("Stat(%s) = %v, want not exist", keywordsFile, err)
			}
		})
	}
}

func TestMaildirKeywords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := NewMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var many []string
	for i := range 28 {
		many = append(many, "k"+strconv.Itoa(i))
	}
	date := time.Unix(1700000000, 0)
	export(t, w, []Folder{{Name: "INBOX"}}, map[string][]Message{"INBOX": {
		message(1, date, "1", "Junk", `\Seen`, "$label1"),
		message(2, date, "2", "junk", "NonJunk"),
		message(3, date, "3", append(many, `\Custom`)...),
	}})
	got := map[string]string{}
	for _, name := range curFiles(t, filepath.Join(dir, "INBOX")) {
		b, err := os.ReadFile(filepath.Join(dir, "INBOX", "cur", name))
		if err != nil {
			t.Fatal(err)
		}
		got[string(b)] = name[strings.Index(name, ":"):]
	}
	// 3 letters are taken before message 3, so 23 of its keywords fit.
	want := map[string]string{"1": ":2,Sab", "2": ":2,ac", "3": ":2,defghijklmnopqrstuvwxyz"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("infos = %v, want %v", got, want)
	}
	kw, err := os.ReadFile(filepath.Join(dir, "INBOX", keywordsFile))
	if err != nil {
		t.Fatal(err)
	}
	wantKW := "0 Junk\n1 $label1\n2 NonJunk\n"
	for i := range 23 {
		wantKW += fmt.Sprintf("%d k%d\n", i+3, i)
	}
	if string(kw) != wantKW {
		t.Errorf("%s = %q, want %q", keywordsFile, kw, wantKW)
	}
	over, err := os.ReadFile(filepath.Join(dir, "INBOX", overflowFile))
	if err != nil {
		t.Fatal(err)
	}
	wantOver := `^1700000000\.Q3U3\.mtm:2,d[e-y]*z\tk23 k24 k25 k26 k27 \\Custom\n$`
	if !regexp.MustCompile(wantOver).Match(over) {
		t.Errorf("%s = %q, want a match of %s", overflowFile, over, wantOver)
	}
}

func TestMaildirBadFlag(t *testing.T) {
	t.Parallel()
	w, err := NewMaildir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fw, err := w.Folder(Folder{Name: "INBOX"})
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"", "a b", "a\nb"} {
		if err := fw.Add(message(1, time.Unix(0, 0), "x", flag)); err == nil {
			t.Errorf("Add with flag %q succeeded", flag)
		}
	}
}

func TestMaildirLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := NewMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Unix(1700000000, 0)
	folders := []Folder{
		{"Archive/2024", "/"}, {"Archive", "/"}, {"INBOX", "/"}, {"INBOX/Entwürfe", "/"}, {"日本語", "/"},
	}
	export(t, w, folders, map[string][]Message{
		"Archive/2024":   {message(7, date, "a")},
		"INBOX/Entwürfe": {message(8, date, "b")},
	})
	var want []string
	for _, d := range []string{"Archive", "Archive/2024", "INBOX", "INBOX/Entwürfe", "日本語"} {
		want = append(want, d, d+"/cur", d+"/new", d+"/tmp")
	}
	want = append(want, "Archive/2024/cur/1700000000.Q1U7.mtm:2,", "INBOX/Entwürfe/cur/1700000000.Q2U8.mtm:2,")
	slices.Sort(want)
	if got := listTree(t, dir); !slices.Equal(got, want) {
		t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// hostile are folder names that try to escape the export directory, clash
// with a Maildir's own entries or with each other.
var hostile = []Folder{
	{"..", "/"}, {"../../etc", "/"}, {"a/../../b", "/"}, {"cur", "/"}, {"INBOX", "/"},
	{"INBOX/new", "/"}, {"INBOX/tmp/x", "/"}, {"INBOX/Cur", "/"}, {"", "/"}, {"/", "/"},
	{"a//b", "/"}, {".", "/"}, {"./x", "/"}, {"-rf", "/"}, {"a\x00b", "/"},
	{"a%2Fb", "/"}, {"a/b", "/"}, {"a%b", "/"}, {"%", "/"}, {"%25", "/"},
	{"dovecot-keywords", "/"}, {"INBOX/mtm-keywords", "/"}, {"x.mbox", "/"}, {"x", "/"},
	{"x.mbox/y", "/"}, {"\xff", "/"}, {"a\nb", "/"}, {"a/b/", "/"}, {"a\\b", "/"},
}

func TestHostileNames(t *testing.T) {
	t.Parallel()
	for format, newWriter := range writers {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "x", "y", "out")
			w, err := newWriter(dir)
			if err != nil {
				t.Fatal(err)
			}
			msgs := map[string][]Message{}
			for i, f := range hostile {
				msgs[f.Name] = []Message{message(uint32(i+1), time.Unix(1700000000, 0), strconv.Quote(f.Name)+"\n")}
			}
			export(t, w, hostile, msgs)
			for _, p := range listTree(t, root) {
				if p != "x" && p != "x/y" && p != "x/y/out" && !strings.HasPrefix(p, "x/y/out/") {
					t.Errorf("%s was written outside the export directory", p)
				}
			}
			seen := map[string]string{}
			for _, f := range hostile {
				path := filepath.Join(append([]string{dir}, folderPath(f)...)...)
				if other, ok := seen[path]; ok {
					t.Errorf("%q and %q both map to %s", f.Name, other, path)
				}
				seen[path] = f.Name
				if got := readFolder(t, format, path); got != strconv.Quote(f.Name)+"\n" {
					t.Errorf("folder %q at %s holds %q", f.Name, path, got)
				}
			}
		})
	}
}

// readFolder returns the only message in the folder at path, without its
// From_ line and separator in mbox.
func readFolder(t *testing.T, format, path string) string {
	t.Helper()
	if format == "mbox" {
		b, err := os.ReadFile(path + mboxSuffix)
		if err != nil {
			t.Fatal(err)
		}
		_, msg, _ := strings.Cut(string(b), "\n")
		return strings.TrimSuffix(msg, "\n")
	}
	names := curFiles(t, path)
	if len(names) != 1 {
		t.Fatalf("%s/cur holds %q, want one file", path, names)
	}
	b, err := os.ReadFile(filepath.Join(path, "cur", names[0]))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCollision(t *testing.T) {
	t.Parallel()
	for format, newWriter := range writers {
		for _, second := range []Folder{{"a/b", "/"}, {"a.b", "."}} {
			t.Run(format+"/"+second.Name, func(t *testing.T) {
				t.Parallel()
				w, err := newWriter(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				fw, err := w.Folder(Folder{"a/b", "/"})
				if err != nil {
					t.Fatal(err)
				}
				if err := fw.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Folder(second); err == nil || !strings.Contains(err.Error(), "same path") {
					t.Errorf("second folder mapping to a/b: err = %v, want a collision", err)
				}
			})
		}
	}
}

func TestMaildirFailure(t *testing.T) {
	t.Parallel()
	for how, bad := range failing(9) {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w, err := NewMaildir(dir)
			if err != nil {
				t.Fatal(err)
			}
			fw, err := w.Folder(Folder{Name: "Sent"})
			if err != nil {
				t.Fatal(err)
			}
			if err := fw.Add(message(1, time.Unix(1700000000, 0), "ok\n")); err != nil {
				t.Fatal(err)
			}
			checkFailure(t, fw.Add(bad), "Sent", 9)
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if names := curFiles(t, filepath.Join(dir, "Sent")); len(names) != 1 || !strings.Contains(names[0], "U1.") {
				t.Errorf("cur holds %q, want the first message only", names)
			}
		})
	}
}

func TestUnclosed(t *testing.T) {
	t.Parallel()
	for format, newWriter := range writers {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			w, err := newWriter(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			fw, err := w.Folder(Folder{Name: "INBOX"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err == nil {
				t.Error("Close with a folder open succeeded")
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Folder(Folder{Name: "Sent"}); err == nil {
				t.Error("Folder after Close succeeded")
			}
		})
	}
}

package export

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestMboxFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := NewMbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	body := "From: a@example.org\r\nSubject: s\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\n" +
		"From\r\n>From:\r\n From x\r\nlone\rCR\r\n\r\nend without newline"
	export(t, w, []Folder{{"Archive", "/"}, {"Archive/2024", "/"}}, map[string][]Message{"Archive/2024": {
		message(1, time.Unix(1700000000, 0), body, `\Seen`),
		message(2, time.Date(2024, 3, 5, 1, 2, 3, 0, time.FixedZone("", 2*3600)), "Subject: two\n\nFrom\n"),
		message(3, time.Unix(1700000000, 0), ""),
		message(4, time.Unix(1700000000, 0), "Subject: four\r\n\r\nends with blank\r\n\r\n"),
	}})
	want := "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n" +
		"From: a@example.org\nSubject: s\n\n>From here\n>>From there\n>>>From x\n" +
		"From\n>From:\n From x\nlone\rCR\n\nend without newline\n\n" +
		"From MAILER-DAEMON Mon Mar  4 23:02:03 2024\n" +
		"Subject: two\n\nFrom\n\n" +
		"From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n\n" +
		"From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n" +
		"Subject: four\n\nends with blank\n\n\n"
	b, err := os.ReadFile(filepath.Join(dir, "Archive", "2024.mbox"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("mbox:\n%q\nwant:\n%q", b, want)
	}
	if got := listTree(t, dir); !slices.Equal(got, []string{"Archive", "Archive.mbox", "Archive/2024.mbox"}) {
		t.Errorf("tree = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "Archive.mbox")); err != nil || fi.Size() != 0 {
		t.Errorf("Archive.mbox: %v, %v; want an empty file", fi, err)
	}
}

// readers wrap a message reader in the ways a blob reader may behave.
var readers = map[string]func(io.Reader) io.Reader{
	"plain":    func(r io.Reader) io.Reader { return r },
	"one byte": iotest.OneByteReader,
	"half":     iotest.HalfReader,
	"data err": iotest.DataErrReader,
}

func TestMboxrdLongLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 200<<10)
	edge := strings.Repeat("y", bufSize-1) // its CR ends a full buffer
	quotes := strings.Repeat(">", 100<<10)
	cases := []struct{ name, in, want string }{
		{"long line", long + "\r\nFrom end", long + "\n>From end\n"},
		{"CR at buffer end", edge + "\r\nnext\r\n", edge + "\nnext\n"},
		{"lone CR at buffer end", edge + "\rnext\r\n", edge + "\rnext\n"},
		{"CR at buffer end, then EOF", edge + "\r", edge + "\r\n"},
		{"many quotes", quotes + "From x\r\n" + quotes + "From", ">" + quotes + "From x\n" + quotes + "From\n"},
		{"From line after long line", "a\n" + long + "From x\nFrom y\n", "a\n" + long + "From x\n>From y\n"},
	}
	for _, tc := range cases {
		for rname, wrap := range readers {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				t.Parallel()
				if got := mboxrd(t, wrap(strings.NewReader(tc.in))); got != tc.want {
					t.Errorf("got %d bytes, want %d; differ at %d", len(got), len(tc.want), firstDiff(got, tc.want))
				}
			})
		}
	}
}

// mboxrd returns what writeMboxrd writes for the message in r.
func mboxrd(t testing.TB, r io.Reader) string {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, bufSize)
	if err := writeMboxrd(w, bufio.NewReaderSize(r, bufSize)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

var quoted = regexp.MustCompile(`(?m)^>(>*From )`)

// FuzzMboxrd checks that unquoting what writeMboxrd writes gives the
// message back with LF line endings and a final newline, and that no line
// starts a new message.
func FuzzMboxrd(f *testing.F) {
	for _, s := range []string{"", "From x", ">From x\r\n", "a\r\r\nb\r", "a\nFrom \n>>From \n>x\n", "\r\n\r\n", "From"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got := mboxrd(t, bytes.NewReader(in))
		want := string(bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n")))
		if want != "" && !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		if strings.HasPrefix(got, "From ") || strings.Contains(got, "\nFrom ") {
			t.Fatalf("mboxrd(%q) = %q has a From_ line", in, got)
		}
		if back := quoted.ReplaceAllString(got, "$1"); back != want {
			t.Fatalf("mboxrd(%q) = %q unquotes to %q, want %q", in, got, back, want)
		}
	})
}

func TestMboxFailure(t *testing.T) {
	t.Parallel()
	for how, bad := range failing(9) {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w, err := NewMbox(dir)
			if err != nil {
				t.Fatal(err)
			}
			fw, err := w.Folder(Folder{Name: "Sent"})
			if err != nil {
				t.Fatal(err)
			}
			date := time.Unix(1700000000, 0)
			if err := fw.Add(message(1, date, "one\n")); err != nil {
				t.Fatal(err)
			}
			checkFailure(t, fw.Add(bad), "Sent", 9)
			if err := fw.Add(message(2, date, "two\n")); err != nil {
				t.Fatal(err)
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "Sent.mbox"))
			if err != nil {
				t.Fatal(err)
			}
			from := fromLine(date)
			if want := from + "one\n\n" + from + "two\n\n"; string(b) != want {
				t.Errorf("Sent.mbox = %.200q, want %q", b, want)
			}
		})
	}
}

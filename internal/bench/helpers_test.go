package bench

import (
	"bytes"
	"testing"
	"time"
)

// The tests of this file check the benchmark's helpers; they are fast and
// run with the normal test suite. The benchmark itself runs only with -bench.

func TestWithMessageID(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"replaced", "From: a\nMessage-ID: <old@x>\nSubject: s\n\nbody\nMessage-ID: <in body>\n",
			"From: a\nMessage-ID: <new@y>\nSubject: s\n\nbody\nMessage-ID: <in body>\n"},
		{"folded and case", "Message-Id:\n <old@x>\nSubject: s\n\nb\n", "Message-ID: <new@y>\nSubject: s\n\nb\n"},
		{"two", "message-id: <a>\nX: 1\nMESSAGE-ID: <b>\n\nb\n", "Message-ID: <new@y>\nX: 1\n\nb\n"},
		{"missing", "Subject: s\n\nb\n", "Message-ID: <new@y>\nSubject: s\n\nb\n"},
		{"crlf", "Subject: s\r\nMessage-ID: <o>\r\n\r\nb\r\n", "Subject: s\r\nMessage-ID: <new@y>\r\n\r\nb\r\n"},
		{"header only", "Subject: s\nMessage-ID: <o>\n", "Subject: s\nMessage-ID: <new@y>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withMessageID([]byte(tt.in), "new@y"); string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCorpusMessagesDistinct(t *testing.T) {
	corpus := [][]byte{[]byte("Subject: a\n\nx\n"), []byte("Message-ID: <m>\n\ny\n")}
	seen := map[string]bool{}
	for _, tag := range []string{"alice", "bob"} {
		for n := range 10 {
			m := string(corpusMessage(corpus, tag, n))
			if seen[m] {
				t.Fatalf("%s %d repeats %q", tag, n, m)
			}
			seen[m] = true
		}
	}
}

func TestBigMessage(t *testing.T) {
	const size = 1 << 20
	m := bigMessage(size)
	if len(m) < size-200 || len(m) > size+200 {
		t.Errorf("size %d, want about %d", len(m), size)
	}
	if !bytes.HasSuffix(m, []byte("--mtm-bench-boundary--\n")) {
		t.Errorf("does not end with the closing boundary")
	}
	if imapSize(m) != len(bytes.ReplaceAll(m, []byte("\n"), []byte("\r\n"))) {
		t.Errorf("imapSize %d is not the CRLF size", imapSize(m))
	}
}

func TestMedian(t *testing.T) {
	s := time.Second
	for _, tt := range []struct {
		in   []time.Duration
		want time.Duration
	}{{nil, 0}, {[]time.Duration{3 * s}, 3 * s}, {[]time.Duration{5 * s, 1 * s, 3 * s}, 3 * s},
		{[]time.Duration{4 * s, 1 * s, 2 * s, 3 * s}, 2500 * time.Millisecond}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

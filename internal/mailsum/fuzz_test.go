package mailsum

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostileSeeds are malformed messages for the fuzzer to start from.
var hostileSeeds = []string{
	"",
	"\r\n",
	"\x00\x00\x00",
	"Subject: =?utf-8?B?====?=\r\n\r\n",
	"Subject: =?utf-8?Q?=\r\n\r\n",
	"Subject: =??Q??=\r\n\r\n",
	"Subject: =?iso-2022-jp?B?GyRC?=\r\n\r\n",
	"From: <<<>>>,,,\"\\\r\nTo: (((\r\nCc: a:b:c;d;;\r\n\r\n",
	"Date: Mon, 99 Foo 99999 99:99:99 +9999\r\n\r\n",
	"Content-Type: multipart/mixed; boundary=\"\r\n\r\n--\r\n--\r\n",
	"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n--a--\r\n--a--\r\n",
	"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n--d--",
	"Subject: " + strings.Repeat("=?utf-8?Q?a?= ", 1000) + "\r\n\r\n",
	"To: " + strings.Repeat("a@b, ", 2000) + "\r\n\r\n",
	strings.Repeat("X: y\r\n", 60000),
	"Content-Type: multipart/mixed; boundary=" + strings.Repeat("b", 2000) + "\r\n\r\n--" + strings.Repeat("b", 2000) + "\r\n",
}

func FuzzScanner(f *testing.F) {
	for _, m := range allMessages() {
		f.Add(m, uint8(0))
	}
	for i, m := range hostileSeeds {
		f.Add([]byte(m), uint8(i))
	}
	f.Fuzz(func(t *testing.T, msg []byte, chunk uint8) {
		whole := Parse(msg)
		s := NewScanner()
		if got := writeChunks(s, msg, int(chunk)+1); !sameSummary(got, whole) {
			t.Fatalf("in %d-byte writes: %+v, whole: %+v", int(chunk)+1, got, whole)
		}
		for _, v := range []string{whole.From, whole.To, whole.Cc, whole.Subject, whole.MessageID} {
			if !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 in %q", v)
			}
			if strings.IndexFunc(v, unicode.IsControl) >= 0 {
				t.Fatalf("control character in %q", v)
			}
		}
		if len(msg) < 1<<20 && !bytes.Contains(msg, []byte("=?")) && len(whole.Subject) > 4*len(msg) {
			t.Fatalf("subject longer than the message")
		}
	})
}

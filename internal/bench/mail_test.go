package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emersion/go-imap/v2"
)

// withMessageID returns a copy of msg whose Message-ID header (with its
// continuation lines) is replaced by one naming id, or which gains one at the
// top when it has none. Only the header is looked at; the line ending of
// the new field is the message's own.
func withMessageID(msg []byte, id string) []byte {
	eol := []byte("\n")
	if i := bytes.IndexByte(msg, '\n'); i > 0 && msg[i-1] == '\r' {
		eol = []byte("\r\n")
	}
	field := append([]byte("Message-ID: <"+id+">"), eol...)

	out := make([]byte, 0, len(msg)+len(field))
	inserted, skipping := false, false
	rest := msg
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		if bytes.Equal(bytes.TrimRight(line, "\r\n"), nil) { // end of the header
			break
		}
		folded := line[0] == ' ' || line[0] == '\t'
		switch {
		case skipping && folded:
		case len(line) >= 11 && bytes.EqualFold(line[:11], []byte("message-id:")):
			skipping = true
			if !inserted {
				out = append(out, field...)
				inserted = true
			}
		default:
			skipping = false
			out = append(out, line...)
		}
		rest = rest[len(line):]
	}
	if !inserted {
		out = append(field, out...)
	}
	return append(out, rest...)
}

// benchFolders are the folders of the large generated account: message n
// goes to benchFolders[n%len(benchFolders)] with flagsOf(n) and dateOf(n).
var benchFolders = []string{"INBOX", "Archive", "Archive/2023", "Archive/2024", "Sent", "Lists/dev", "Lists/announce", "Junk"}

// flagsOf gives two messages in three \Seen, one in fifty \Flagged too and
// one in twenty \Answered.
func flagsOf(n int) []imap.Flag {
	var f []imap.Flag
	if n%3 != 0 {
		f = append(f, imap.FlagSeen)
	}
	if n%50 == 0 {
		f = append(f, imap.FlagFlagged)
	}
	if n%20 == 7 {
		f = append(f, imap.FlagAnswered)
	}
	return f
}

// baseDate is the INTERNALDATE of generated message 0; message n arrived n
// minutes later.
var baseDate = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func dateOf(n int) time.Time { return baseDate.Add(time.Duration(n) * time.Minute) }

// corpusMessage returns generated message n of the account tagged tag: corpus
// message n%len(corpus) with a Message-ID unique to (tag, n).
func corpusMessage(corpus [][]byte, tag string, n int) []byte {
	return withMessageID(corpus[n%len(corpus)], fmt.Sprintf("%s.%d@bench.mtm.example", tag, n))
}

// bigMessage returns a message of about size bytes: a short text part and an
// attachment of random (incompressible) bytes in base64, LF line endings.
func bigMessage(size int) []byte {
	const boundary = "mtm-bench-boundary"
	var b bytes.Buffer
	b.Grow(size + 4096)
	fmt.Fprintf(&b, "From: Big Sender <big@example.org>\nTo: alice@example.com\nSubject: a very large attachment\n"+
		"Date: Mon, 03 Mar 2025 10:00:00 +0000\nMessage-ID: <big.1@bench.mtm.example>\nMIME-Version: 1.0\n"+
		"Content-Type: multipart/mixed; boundary=%q\n\n--%s\nContent-Type: text/plain; charset=us-ascii\n\n"+
		"See the attachment.\n\n--%s\nContent-Type: application/octet-stream\n"+
		"Content-Disposition: attachment; filename=\"big.bin\"\nContent-Transfer-Encoding: base64\n\n",
		boundary, boundary, boundary)
	rng := rand.New(rand.NewChaCha8([32]byte{'m', 't', 'm'}))
	raw := make([]byte, 57) // one 76-character base64 line
	line := make([]byte, 76)
	for b.Len() < size-100 {
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		base64.StdEncoding.Encode(line, raw)
		b.Write(line)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "--%s--\n", boundary)
	return b.Bytes()
}

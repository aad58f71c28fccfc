package snapshot

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
	"time"

	"mtm/internal/blobstore"
)

// bigMessage is a MIME message of about size bytes with a base64 attachment.
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: big@example.com\r\nTo: alice@example.com\r\nSubject: big one\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	line := 0
	for b.Len() < size {
		fmt.Fprintf(&b, "%076d\r\n", line)
		line++
	}
	b.WriteString("--XX--\r\n")
	return b.Bytes()
}

func TestMessageLargerThan50MB(t *testing.T) {
	if testing.Short() {
		t.Skip("large message")
	}
	h := newHarness(t)
	const alice = "alice@example.com"
	h.dc.AddUser(t, alice, "pw")
	big := bigMessage(55 << 20)
	h.dc.Append(t, alice, "INBOX", big, nil, time.Time{})
	s := h.snapshot(alice)

	c := h.dc.Dial(t, alice)
	live := h.live(c, "INBOX")
	if len(live) != 1 {
		t.Fatalf("live INBOX has %d messages", len(live))
	}
	want := sha256.Sum256(live[1].Bytes)
	var got []byte
	folders, err := h.cat.Folders(h.ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if f.Name != "INBOX" {
			continue
		}
		if f.Bytes != int64(len(live[1].Bytes)) {
			t.Errorf("catalog size %d, server %d", f.Bytes, len(live[1].Bytes))
		}
	}
	rc, err := h.blobs.Open(h.ctx, blobstore.Hash(want))
	if err != nil {
		t.Fatalf("blob of the server's bytes: %v", err)
	}
	hs := sha256.New()
	if _, err := io.Copy(hs, rc); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	got = hs.Sum(nil)
	if !bytes.Equal(got, want[:]) {
		t.Fatal("stored bytes differ from the server's")
	}
	_, msgs := h.view(s)
	if m := msgs["INBOX"][1]; m.Subject != "big one" || !bytes.Equal(m.Bytes, live[1].Bytes) {
		t.Errorf("snapshot view of the big message: subject %q, %d bytes", m.Subject, len(m.Bytes))
	}
}

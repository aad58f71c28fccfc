package imapconn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/imapconn"
	"mtm/internal/testenv/dovecot"
)

// message builds a message of about size bytes, CRLF line endings.
func message(subject string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: a@example.com\r\nSubject: %s\r\nMessage-ID: <%s@example.com>\r\n\r\n", subject, subject)
	for b.Len() < size {
		b.WriteString(strings.Repeat("x", 76) + "\r\n")
	}
	return b.Bytes()
}

// appendMessage sends one APPEND without waiting for its answer.
func appendMessage(t *testing.T, c *imapclient.Client, folder string, msg []byte, opts *imap.AppendOptions) *imapclient.AppendCommand {
	t.Helper()
	cmd := c.Append(folder, int64(len(msg)), opts)
	_, err := cmd.Write(msg)
	if err := errors.Join(err, cmd.Close()); err != nil { // Close also when Write failed: it ends the command
		t.Fatalf("sending APPEND to %s: %v", folder, err)
	}
	return cmd
}

// TestAppendLiteralPlus checks the pinned go-imap client (third_party/go-imap)
// against Dovecot, which advertises LITERAL+: APPEND literals of any size up
// to the client's cap go non-synchronizing ({N+}, RFC 7888), so pipelined
// APPENDs do not wait for the server's "+"; the stored bytes, flags and
// INTERNALDATE are exact; and an APPEND the server refuses (a missing folder)
// fails alone, with the connection and the APPENDs around it intact (with a
// synchronizing literal the client dropped the connection).
func TestAppendLiteralPlus(t *testing.T) {
	t.Parallel()
	dc := dovecot.Start(t)
	const acct = "lit@example.com"
	dc.AddUser(t, acct, "pw")
	srv := imapconn.Server{Address: dc.Addr, TLS: imapconn.TLSNone, Timeout: 10 * time.Second,
		Credentials: imapconn.MasterUser{User: dc.MasterUser, Password: dc.MasterPassword, Separator: "*"}}
	cn, err := imapconn.Dial(context.Background(), srv, acct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cn.Close)
	if !cn.C.Caps().Has(imap.CapLiteralPlus) {
		t.Fatal("Dovecot does not advertise LITERAL+")
	}

	date := time.Date(2002, 8, 23, 10, 11, 12, 0, time.FixedZone("", 2*3600))
	msgs := [][]byte{message("small", 100), message("over4k", 5000), message("large", 1<<20)}
	opts := &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, "$Label1"}, Time: date}
	var cmds []*imapclient.AppendCommand
	for i, m := range msgs {
		cmds = append(cmds, appendMessage(t, cn.C, "INBOX", m, opts))
		if i == 1 { // refused in the middle of the pipeline
			cmds = append(cmds, appendMessage(t, cn.C, "Missing", message("refused", 5000), opts))
		}
	}
	var uids []imap.UID
	for i, cmd := range cmds {
		data, err := cmd.Wait()
		var ie *imap.Error
		switch {
		case i == 2 && errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate:
		case i == 2:
			t.Fatalf("APPEND to a missing folder: %v, want NO [TRYCREATE]", err)
		case err != nil:
			t.Fatalf("APPEND %d: %v", i, err)
		default:
			uids = append(uids, data.UID)
		}
	}
	if err := cn.C.Noop().Wait(); err != nil {
		t.Fatalf("the connection did not survive the refused APPEND: %v", err)
	}

	if _, err := cn.C.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	set.AddNum(uids...)
	got, err := cn.C.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("INBOX has %d of the appended messages, want %d", len(got), len(msgs))
	}
	for i, m := range got {
		body := m.FindBodySection(&imap.FetchItemBodySection{})
		if !bytes.Equal(body, msgs[i]) {
			t.Errorf("message %d: %d bytes stored, %d appended, or different bytes", i, len(body), len(msgs[i]))
		}
		if !m.InternalDate.Equal(date) {
			t.Errorf("message %d: INTERNALDATE %v, want %v", i, m.InternalDate, date)
		}
		flags := slices.DeleteFunc(m.Flags, func(f imap.Flag) bool { return f == `\Recent` })
		if !slices.Equal(flags, opts.Flags) {
			t.Errorf("message %d: flags %v, want %v", i, flags, opts.Flags)
		}
	}
}

// TestAppendLiteralOnTheWire checks what the pinned client sends to a
// server with LITERAL+: {N+} for a message over 4096 bytes, and no "+"
// continuation awaited.
func TestAppendLiteralOnTheWire(t *testing.T) {
	t.Parallel()
	dc := dovecot.Start(t)
	const acct = "wire@example.com"
	dc.AddUser(t, acct, "pw")
	var wire syncBuffer
	c, err := imapclient.DialInsecure(dc.Addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second},
		DebugWriter: &wire})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Login(acct+"*"+dc.MasterUser, dc.MasterPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Capability().Wait(); err != nil {
		t.Fatal(err)
	}
	msg := message("wire", 5000)
	if _, err := appendMessage(t, c, "INBOX", msg, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("{%d+}\r\n", len(msg))
	if s := wire.String(); !strings.Contains(s, want) || strings.Contains(s, "\r\n+ ") {
		t.Errorf("the APPEND did not go as a non-synchronizing literal %q:\n%.400s", want, s)
	}
}

// syncBuffer is a bytes.Buffer for the client's debug writer, which the
// reading and writing goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

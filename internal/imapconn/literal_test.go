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
	cn, err := imapconn.Dial(context.Background(), dc.IMAPServer(), acct)
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

// TestMultiAppend checks MULTIAPPEND (RFC 3502) with the pinned go-imap
// client (AppendCommand.Next) against Dovecot: the messages of one APPEND
// are stored with their own bytes, flags and dates, APPENDUID gives their
// UIDs in order, and a refused batch stores nothing and keeps the
// connection.
func TestMultiAppend(t *testing.T) {
	t.Parallel()
	dc := dovecot.Start(t)
	const acct = "multi@example.com"
	dc.AddUser(t, acct, "pw")
	cn, err := imapconn.Dial(context.Background(), dc.IMAPServer(), acct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cn.Close)
	if !cn.C.Caps().Has(imap.CapMultiAppend) {
		t.Fatal("Dovecot does not advertise MULTIAPPEND")
	}
	type msg struct {
		body []byte
		opts *imap.AppendOptions
	}
	batch := func(n int) []msg {
		var out []msg
		for i, size := range []int{100, 5000, 1 << 20}[:n] {
			out = append(out, msg{message(fmt.Sprintf("multi%d", i), size), &imap.AppendOptions{
				Flags: [][]imap.Flag{{imap.FlagSeen}, nil, {imap.FlagFlagged, "$Label2"}}[i],
				Time:  time.Date(2003, 3, 4, 5, 6, i, 0, time.UTC)}})
		}
		return out
	}
	send := func(folder string, msgs []msg) (*imap.AppendData, error) {
		t.Helper()
		var cmd *imapclient.AppendCommand
		for _, m := range msgs {
			if cmd == nil {
				cmd = cn.C.Append(folder, int64(len(m.body)), m.opts)
			} else if err := cmd.Next(int64(len(m.body)), m.opts); err != nil {
				t.Fatal(err)
			}
			if _, err := cmd.Write(m.body); err != nil {
				t.Fatal(err)
			}
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		return cmd.Wait()
	}

	inbox := func() string { // "messages=N"
		out := strings.Fields(dc.Doveadm(t, "mailbox", "status", "-u", acct, "messages", "INBOX"))
		return out[len(out)-1]
	}
	var ie *imap.Error
	if _, err := send("Missing", batch(3)); !errors.As(err, &ie) {
		t.Fatalf("MULTIAPPEND to a missing folder: %v, want NO", err)
	}
	// Dovecot refuses the empty message with NO once it has stored the
	// first one in the command's transaction. (An unknown system flag
	// would get BAD before the literal is read, and Dovecot would then
	// read the rest of the command as commands: internal/restore never
	// sends one.)
	bad := batch(3)
	bad[1].body = nil
	if _, err := send("INBOX", bad); !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo {
		t.Fatalf("MULTIAPPEND with a bad second message: %v, want NO", err)
	}
	if got := inbox(); got != "messages=0" {
		t.Fatalf("after a refused MULTIAPPEND INBOX has %s, want none: the batch is atomic", got)
	}
	if _, err := cn.C.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("the connection did not survive the refused MULTIAPPENDs: %v", err)
	}
	msgs := batch(3)
	data, err := send("INBOX", msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(data.UIDs) != len(msgs) {
		t.Fatalf("APPENDUID gave UIDs %v for %d messages", data.UIDs, len(msgs))
	}
	for i, uid := range data.UIDs {
		got, err := cn.C.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil || len(got) != 1 {
			t.Fatalf("fetching UID %d: %v (%d messages)", uid, err, len(got))
		}
		flags := slices.DeleteFunc(got[0].Flags, func(f imap.Flag) bool { return f == `\Recent` })
		if !bytes.Equal(got[0].FindBodySection(&imap.FetchItemBodySection{}), msgs[i].body) ||
			!got[0].InternalDate.Equal(msgs[i].opts.Time) || !slices.Equal(flags, msgs[i].opts.Flags) {
			t.Errorf("UID %d (message %d of the batch): flags %v, date %v, or bytes differ from what was sent",
				uid, i, flags, got[0].InternalDate)
		}
	}
	if got := inbox(); got != "messages=3" {
		t.Errorf("INBOX has %s, want 3", got)
	}
}

package imapclient

import (
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
)

// Append sends an APPEND command.
//
// The caller must call AppendCommand.Close.
//
// The options are optional.
func (c *Client) Append(mailbox string, size int64, options *imap.AppendOptions) *AppendCommand {
	cmd := &AppendCommand{}
	cmd.enc = c.beginCommand("APPEND", cmd)
	cmd.enc.SP().Mailbox(mailbox).SP()
	cmd.message(size, options)
	return cmd
}

// Next ends the message written so far and starts another one of the same
// command (MULTIAPPEND, RFC 3502; the server must have the MULTIAPPEND
// capability): the server appends all the messages or none.
func (cmd *AppendCommand) Next(size int64, options *imap.AppendOptions) error {
	if err := cmd.wc.Close(); err != nil {
		return err
	}
	cmd.enc.SP()
	cmd.message(size, options)
	return nil
}

// message writes a message's flags, date and literal header.
func (cmd *AppendCommand) message(size int64, options *imap.AppendOptions) {
	cmd.n++
	if options != nil && len(options.Flags) > 0 {
		cmd.enc.List(len(options.Flags), func(i int) {
			cmd.enc.Flag(options.Flags[i])
		}).SP()
	}
	if options != nil && !options.Time.IsZero() {
		cmd.enc.String(options.Time.Format(internal.DateTimeLayout)).SP()
	}
	// TODO: literal8 for BINARY
	// TODO: UTF8 data ext for UTF8=ACCEPT, with literal8
	cmd.wc = cmd.enc.Literal(size)
}

// appendUIDs reads the uid-set of APPENDUID: one UID per message, in the
// order the messages were sent (RFC 4315 section 3). It returns nil unless
// the set names exactly n UIDs.
func appendUIDs(set string, n int) []imap.UID {
	var uids []imap.UID
	for _, r := range strings.Split(set, ",") {
		first, last, isRange := strings.Cut(r, ":")
		if !isRange {
			last = first
		}
		a, errA := strconv.ParseUint(first, 10, 32)
		b, errB := strconv.ParseUint(last, 10, 32)
		if errA != nil || errB != nil || a == 0 || b == 0 {
			return nil
		}
		step := int64(1)
		if b < a {
			step = -1
		}
		for u := int64(a); ; u += step {
			if len(uids) == n {
				return nil
			}
			uids = append(uids, imap.UID(u))
			if u == int64(b) {
				break
			}
		}
	}
	if len(uids) != n {
		return nil
	}
	return uids
}

// AppendCommand is an APPEND command.
//
// Callers must write the message contents, then call Close.
type AppendCommand struct {
	commandBase
	enc  *commandEncoder
	wc   io.WriteCloser
	n    int // messages
	data imap.AppendData
}

func (cmd *AppendCommand) Write(b []byte) (int, error) {
	return cmd.wc.Write(b)
}

func (cmd *AppendCommand) Close() error {
	err := cmd.wc.Close()
	if cmd.enc != nil {
		cmd.enc.end()
		cmd.enc = nil
	}
	return err
}

func (cmd *AppendCommand) Wait() (*imap.AppendData, error) {
	return &cmd.data, cmd.wait()
}

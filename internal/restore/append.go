package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
)

// inFlight is how many messages are sent before the oldest APPEND is
// waited for. The server is what a restore waits for; a deep pipeline keeps
// its input from running dry while the client waits for answers. It costs
// nothing here (the messages stream from the store, an APPEND in flight is
// a small record), and what an APPEND in flight when the client dies does
// is handled like any other (see Request.Settle).
const inFlight = 256

// Bounds of one MULTIAPPEND command (RFC 3502): a server stores the
// messages of one APPEND in one transaction, so batches save it most of
// its work per message (Dovecot: one index and one UID list update per
// batch instead of per message). A message larger than batchMessageMax is
// sent alone: batching gains it nothing.
const (
	batchMessages   = 100
	batchBytes      = 8 << 20
	batchMessageMax = 1 << 20
)

// recordEvery is how many APPENDUIDs are recorded per catalog transaction.
const recordEvery = 200

// appender appends messages of one folder on one connection, pipelined.
type appender struct {
	ctx      context.Context
	cat      Catalog
	blobs    Blobs
	c        *imapclient.Client
	acct     catalog.AccountID
	folder   string
	mu       *sync.Mutex // guards res and fr, shared by the folder's appenders
	res      *Result
	fr       *FolderResult
	progress Progress
	pending  []pendingAppend
	inFlight int       // messages in pending
	retry    []Message // of refused batches, to send one by one
	done     []catalog.Appended
	// ahead reads the messages of the folder ahead of the APPENDs, from
	// a store whose reads wait (S3); nil otherwise.
	ahead *blobstore.Ahead
}

// pendingAppend is an APPEND in flight with its messages, in order.
type pendingAppend struct {
	cmd  *imapclient.AppendCommand
	msgs []Message
}

// appendAll appends msgs to the folder, in order, in batches when the
// server offers MULTIAPPEND. It first opens the folder (see examine). A
// batch the server refuses is atomic (RFC 3502: nothing of it was
// stored): its messages are sent again one by one, after the batches
// already sent, so that a message the server refuses fails alone.
func (a *appender) appendAll(msgs []Message) error {
	if err := a.examine(); err != nil {
		return err
	}
	msgs = slices.DeleteFunc(slices.Clone(msgs), func(m Message) bool {
		f, found := unsendableFlag(m.Flags)
		if found {
			a.fail(m, fmt.Sprintf("flag %q is not sent to the server", f))
		}
		return found
	})
	ahead := make([]blobstore.AheadBlob, len(msgs))
	for i, m := range msgs {
		ahead[i] = blobstore.AheadBlob{Hash: blobstore.Hash(m.Hash), Size: m.Size}
	}
	a.ahead = blobstore.NewAhead(a.ctx, a.blobs, ahead, blobstore.AheadOptions{})
	defer a.ahead.Stop()
	maxBatch, messageMax := a.batchLimits()
	next := 0 // the index of msgs[0] in the read-ahead's list
	for {
		var batch []Message
		first := -1 // the batch's first message's index in the read-ahead's list; none for a retry
		switch {
		case len(a.retry) > 0:
			batch, a.retry = a.retry[:1], a.retry[1:]
		case len(msgs) > 0:
			n := batchLen(msgs, maxBatch, messageMax)
			batch, msgs, first = msgs[:n], msgs[n:], next
			next += n
		case len(a.pending) > 0:
			if err := a.waitOldest(); err != nil {
				return err
			}
			continue
		default:
			return a.record()
		}
		for len(a.pending) > 0 && a.inFlight+len(batch) > inFlight {
			if err := a.waitOldest(); err != nil {
				return err
			}
		}
		if err := a.send(batch, first); err != nil {
			return errors.Join(err, a.drain())
		}
	}
}

// unsendableFlag returns the first flag that is neither a standard system
// flag nor a keyword of atom characters (RFC 3501 §2.3.2, §9), if any.
// Such a flag is never sent: a server answers it with BAD before it has
// read the message, and Dovecot (2.3) then reads the rest of a
// non-synchronizing literal as commands of their own.
func unsendableFlag(flags []string) (flag string, found bool) {
	system := []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`}
	for _, f := range flags {
		switch {
		case strings.HasPrefix(f, `\`):
			if !slices.ContainsFunc(system, func(s string) bool { return strings.EqualFold(f, s) }) {
				return f, true
			}
		case f == "" || strings.ContainsFunc(f, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r)
		}):
			return f, true
		}
	}
	return "", false
}

// batchLimits is how many messages one APPEND may carry here, and the
// largest message that may share one: batchMessages and batchMessageMax
// (or the server's APPENDLIMIT, if lower) if the server has MULTIAPPEND
// and LITERAL+, so that no message of a batch waits for the server's "+";
// else one.
func (a *appender) batchLimits() (messages int, messageMax int64) {
	caps := a.c.Caps()
	if !caps.Has(imap.CapMultiAppend) || !caps.Has(imap.CapLiteralPlus) {
		return 1, 0
	}
	messageMax = batchMessageMax
	if limit, ok := caps.AppendLimit(); ok && limit != nil {
		messageMax = min(messageMax, int64(*limit))
	}
	return batchMessages, messageMax
}

// batchLen is how many of msgs (at least one) go in the next APPEND.
func batchLen(msgs []Message, maxBatch int, messageMax int64) int {
	var size int64
	for n, m := range msgs {
		size += m.Size
		if n == maxBatch || n > 0 && (size > batchBytes || m.Size > messageMax) {
			return n
		}
		if m.Size > messageMax {
			return 1
		}
	}
	return len(msgs)
}

// examine selects the folder read-only (EXAMINE), so that a server keeps
// it open for the APPENDs instead of opening it for each (Dovecot, single
// APPENDs: about half the file opens and one sync fewer every two
// messages). A read-write SELECT would let Dovecot also move each new
// message from new/ to cur/ as it arrives (without it, each transaction
// rescans new/); with batches that saved about 15% of the time, not worth
// giving up a restore that changes nothing but what it appends. A folder
// the server will not open is left to the APPENDs, which fail with its
// reason.
func (a *appender) examine() error {
	_, err := a.c.Select(a.folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	var ie *imap.Error
	if err != nil && !errors.As(err, &ie) {
		return fmt.Errorf("examining %q: %w", a.folder, err)
	}
	return nil
}

// send writes one APPEND of the batch with the blobs' exact bytes,
// streaming, and adds it to the pending ones. A blob that cannot be opened
// ends the command before its message, so that what was written is a
// complete APPEND of the messages before it; the error is returned. first
// is the batch's index in the read-ahead's list, -1 when it is not in it.
func (a *appender) send(batch []Message, first int) error {
	var cmd *imapclient.AppendCommand
	for i, m := range batch {
		rc, err := a.open(m, first, i)
		if err != nil {
			err = fmt.Errorf("message %x: %w", m.Hash[:6], err)
			if cmd != nil {
				err = errors.Join(err, a.sent(cmd, batch[:i]))
			}
			return err
		}
		flags := make([]imap.Flag, len(m.Flags))
		for j, f := range m.Flags {
			flags[j] = imap.Flag(f)
		}
		opts := &imap.AppendOptions{Flags: flags, Time: m.InternalDate}
		if cmd == nil {
			cmd = a.c.Append(a.folder, m.Size, opts)
		} else if err := cmd.Next(m.Size, opts); err != nil {
			return errors.Join(fmt.Errorf("sending message %x: %w", m.Hash[:6], err), rc.Close(), cmd.Close())
		}
		_, err = io.Copy(cmd, rc)
		if first >= 0 {
			a.ahead.Release(first + i)
		}
		if err = errors.Join(err, rc.Close()); err != nil {
			return errors.Join(fmt.Errorf("sending message %x: %w", m.Hash[:6], err), cmd.Close())
		}
	}
	return a.sent(cmd, batch)
}

// open opens the blob of m, the i-th of a batch whose first message is
// the read-ahead's first-th (-1: none, a retry).
func (a *appender) open(m Message, first, i int) (io.ReadCloser, error) {
	if first < 0 {
		return a.blobs.Open(a.ctx, blobstore.Hash(m.Hash))
	}
	return a.ahead.Open(a.ctx, a.blobs, first+i, blobstore.Hash(m.Hash))
}

// sent ends the APPEND command of msgs and adds it to the pending ones.
func (a *appender) sent(cmd *imapclient.AppendCommand, msgs []Message) error {
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("sending message %x: %w", msgs[len(msgs)-1].Hash[:6], err)
	}
	a.pending = append(a.pending, pendingAppend{cmd: cmd, msgs: msgs})
	a.inFlight += len(msgs)
	return nil
}

func (a *appender) drain() error {
	var errs error
	for len(a.pending) > 0 {
		errs = errors.Join(errs, a.waitOldest())
	}
	return errs
}

// waitOldest waits for the oldest APPEND in flight. A NO or BAD from the
// server fails that message, or, for a batch, puts its messages up to be
// sent one by one; other errors are returned.
func (a *appender) waitOldest() error {
	p := a.pending[0]
	a.pending = slices.Delete(a.pending, 0, 1)
	a.inFlight -= len(p.msgs)
	data, err := p.cmd.Wait()
	var ie *imap.Error
	switch {
	case errors.As(err, &ie) && len(p.msgs) > 1:
		a.retry = append(a.retry, p.msgs...)
		return nil
	case errors.As(err, &ie):
		a.fail(p.msgs[0], ie.Text)
		return nil
	case err != nil:
		return err
	}
	a.mu.Lock()
	a.fr.Appended += len(p.msgs)
	a.res.Appended += len(p.msgs)
	a.mu.Unlock()
	// One UID per message, in order (RFC 4315 §3); anything else is not
	// recorded, and the next live index hashes those messages instead.
	if len(data.UIDs) == len(p.msgs) {
		for i, m := range p.msgs {
			a.done = append(a.done, catalog.Appended{Folder: a.folder, UIDValidity: data.UIDValidity,
				UID: uint32(data.UIDs[i]), Hash: m.Hash})
		}
	}
	if len(a.done) >= recordEvery {
		if err := a.record(); err != nil {
			return err
		}
		if a.progress != nil {
			a.progress(a.snapshot())
		}
	}
	return nil
}

// fail counts a message that was not restored, and reports the first few.
func (a *appender) fail(m Message, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fr.Failed++
	a.res.Failed++
	if len(a.fr.Errors) < 5 {
		a.fr.Errors = append(a.fr.Errors, fmt.Sprintf("message of uid %d in the backup: %s", m.SourceUID, why))
	}
}

// snapshot copies the result so far, for a progress report.
func (a *appender) snapshot() Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := *a.res
	r.Folders = slices.Clone(a.res.Folders)
	return r
}

// record writes the APPENDUIDs gathered so far to the catalog.
func (a *appender) record() error {
	if err := a.cat.RecordAppends(a.ctx, a.acct, a.done); err != nil {
		return err
	}
	a.done = a.done[:0]
	return nil
}

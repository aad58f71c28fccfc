package imapd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"mtm/internal/blobstore"
	"mtm/internal/render"
)

// maxHead is the most of a message read for its header alone; a header
// longer than that is read as cut there.
const maxHead = 1 << 20

// copyBufSize is the size of the buffer a session copies messages with.
const copyBufSize = 32 << 10

func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if err := s.stillKept(false); err != nil {
		return err
	}
	var items []fetchItem
	_ = s.sel.each(numSet, func(seq uint32, m *message) error {
		items = append(items, fetchItem{seq, m})
		return nil
	})
	a := s.newAhead(items, options)
	defer a.Stop()
	for i, it := range items {
		err := s.fetchOne(w, it.seq, it.m, options, a.Take(i))
		a.Release(i)
		if err != nil {
			return err
		}
	}
	return nil
}

// fetchOne answers one message. Everything that can fail is read before
// its response begins, but the bytes of BODY[] (whole or a range), which
// stream from the blob store: a failure there ends the connection, as the
// literal under way cannot be finished. pre is the message's bytes when
// they were read ahead.
func (s *session) fetchOne(w *imapserver.FetchWriter, seq uint32, m *message, options *imap.FetchOptions, pre []byte) error {
	needRaw := options.BodyStructure != nil || len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0
	needHead := options.Envelope
	for _, bs := range options.BodySection {
		switch {
		case streamed(bs):
		case headerOnly(bs):
			needHead = true
		default:
			needRaw = true
		}
	}
	var raw, head []byte
	var err error
	switch {
	case needRaw:
		if raw, err = s.read(m, false, pre); err != nil {
			return err
		}
		head = raw[:headEnd(raw)]
	case needHead:
		if head, err = s.read(m, true, pre); err != nil {
			return err
		}
		head = head[:headEnd(head)]
	}
	// safe is raw with missing closing delimiters added, for the MIME
	// readers; nil when its structure is beyond render's limits.
	var safe []byte
	if raw != nil {
		safe, _ = render.Structure(raw)
	}

	rw := w.CreateMessage(seq)
	rw.WriteUID(m.uid)
	if options.Flags {
		rw.WriteFlags(m.flags)
	}
	if options.InternalDate {
		rw.WriteInternalDate(m.date)
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(m.size)
	}
	if options.Envelope {
		rw.WriteEnvelope(envelope(head))
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(bodyStructure(raw, safe))
	}
	for _, bs := range options.BodySection {
		if streamed(bs) {
			if err := s.stream(rw, m, bs, pre); err != nil {
				return err
			}
			continue
		}
		src := head
		if !headerOnly(bs) {
			src = safe
		}
		var b []byte
		if src != nil {
			b = imapserver.ExtractBodySection(bytes.NewReader(src), bs)
		}
		if err := writeLiteral(rw.WriteBodySection(bs, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySection {
		var b []byte
		if safe != nil {
			b = imapserver.ExtractBinarySection(bytes.NewReader(safe), bs)
		}
		if err := writeLiteral(rw.WriteBinarySection(bs, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, bss := range options.BinarySectionSize {
		var n uint32
		if safe != nil {
			n = imapserver.ExtractBinarySectionSize(bytes.NewReader(safe), bss)
		}
		rw.WriteBinarySectionSize(bss, n)
	}
	return rw.Close()
}

// streamed: BODY[] or BODY.PEEK[], whole or a range, sent straight from
// the blob store.
func streamed(bs *imap.FetchItemBodySection) bool {
	return len(bs.Part) == 0 && bs.Specifier == imap.PartSpecifierNone
}

// headerOnly: the message's own header, or some of its fields.
func headerOnly(bs *imap.FetchItemBodySection) bool {
	return len(bs.Part) == 0 && bs.Specifier == imap.PartSpecifierHeader
}

func writeLiteral(wc io.WriteCloser, b []byte) error {
	_, werr := wc.Write(b)
	return errors.Join(werr, wc.Close())
}

// stream sends BODY[]<offset.size> from the blob store, or from pre.
func (s *session) stream(rw *imapserver.FetchResponseWriter, m *message, bs *imap.FetchItemBodySection, pre []byte) error {
	offset, n := int64(0), m.size
	if p := bs.Partial; p != nil {
		offset = min(p.Offset, m.size)
		n = min(p.Size, m.size-offset)
	}
	rc, err := s.open(m, pre)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	if offset > 0 {
		if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
			return s.cut(m, err)
		}
	}
	wc := rw.WriteBodySection(bs, n)
	if s.copyBuf == nil {
		s.copyBuf = make([]byte, copyBufSize)
	}
	// io.CopyN would allocate a buffer of its own for every message.
	written, err := io.CopyBuffer(wc, io.LimitReader(rc, n), s.copyBuf)
	if err == nil && written < n {
		err = io.ErrUnexpectedEOF // shorter than its size: the literal cannot be finished
	}
	if err != nil {
		_ = wc.Close()
		return s.cut(m, err)
	}
	return wc.Close()
}

// cut ends a connection whose literal could not be finished.
func (s *session) cut(m *message, err error) error {
	s.srv.log.Error("imap: a message could not be sent whole; ending the connection", "account", s.address,
		"uid", m.uid, "hash", m.hash.String(), "err", err)
	_ = s.conn.Bye("The backup cannot be read right now; try again later")
	return fmt.Errorf("sending message %d: %w", m.uid, err)
}

// open opens a message's blob, or reads pre when the blob was read ahead;
// a blob gone with its day says BYE.
func (s *session) open(m *message, pre []byte) (io.ReadCloser, error) {
	if pre != nil {
		return io.NopCloser(bytes.NewReader(pre)), nil
	}
	s.lookedUp()
	rc, err := s.srv.o.Blobs.Open(s.ctx, m.hash)
	if err == nil {
		return rc, nil
	}
	if errors.Is(err, blobstore.ErrNotFound) {
		if gone := s.stillKept(true); gone != nil {
			return nil, gone
		}
	}
	return nil, s.serverError("opening a message", err)
}

// read reads a message whole, or only its header; pre is what was read
// ahead (the message, or its header alone for a FETCH of headers only), or
// nil.
func (s *session) read(m *message, headOnly bool, pre []byte) ([]byte, error) {
	if pre != nil && (!headOnly || headEnd(pre) == len(pre)) {
		return pre, nil // whole, or the header alone (which readHead gives whole, with its empty line)
	}
	rc, err := s.open(m, pre)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	if headOnly {
		b, err := readHead(io.LimitReader(rc, maxHead))
		if err != nil {
			return nil, s.serverError("reading a message's header", err)
		}
		return b, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, m.size))
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, s.serverError("reading a message", err)
	}
	return buf.Bytes(), nil
}

// readHead reads lines up to and with the first empty one.
func readHead(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(r)
	var out []byte
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			if err != nil && err != io.EOF {
				return nil, err
			}
			return out, nil
		}
	}
}

// headEnd is the length of b's header with its empty line (all of b when
// it has none).
func headEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return len(b)
		}
		line := b[i : i+j]
		i += j + 1
		if len(bytes.TrimRight(line, "\r")) == 0 {
			return i
		}
	}
	return len(b)
}

// envelope is go-imap's ENVELOPE of a header; an unreadable header gives
// an empty one.
func envelope(head []byte) *imap.Envelope {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return &imap.Envelope{}
	}
	env := imapserver.ExtractEnvelope(h)
	if env == nil {
		return &imap.Envelope{}
	}
	return env
}

// bodyStructure is go-imap's BODYSTRUCTURE of a message, or, for one
// beyond render's limits (safe nil), a single text part of its body.
func bodyStructure(raw, safe []byte) imap.BodyStructure {
	if safe != nil {
		bs := imapserver.ExtractBodyStructure(bytes.NewReader(safe))
		defaultCharset(bs)
		return bs
	}
	body := raw[headEnd(raw):]
	return &imap.BodyStructureSinglePart{Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"},
		Encoding: "7bit", Size: uint32(len(body)), Text: &imap.BodyStructureText{NumLines: int64(bytes.Count(body, []byte("\n")))},
		Extended: &imap.BodyStructureSinglePartExt{}}
}

// defaultCharset gives every text part without a charset the one it has
// (RFC 2045 section 5.2: US-ASCII), as Dovecot's BODYSTRUCTURE does:
// clients read the parameter rather than know the default.
func defaultCharset(bs imap.BodyStructure) {
	switch b := bs.(type) {
	case *imap.BodyStructureSinglePart:
		if strings.EqualFold(b.Type, "text") {
			if _, ok := b.Params["charset"]; !ok {
				if b.Params == nil {
					b.Params = map[string]string{}
				}
				b.Params["charset"] = "us-ascii"
			}
		}
		if b.MessageRFC822 != nil && b.MessageRFC822.BodyStructure != nil {
			defaultCharset(b.MessageRFC822.BodyStructure)
		}
	case *imap.BodyStructureMultiPart:
		for _, c := range b.Children {
			defaultCharset(c)
		}
	}
}

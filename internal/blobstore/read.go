package blobstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
)

// openFile opens the file of blob h and reads its header, returning the file
// positioned after the header and the raw size.
func (l *Local) openFile(h Hash) (*os.File, int64, error) {
	f, err := os.Open(l.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	var hdr [headerLen]byte
	_, err = io.ReadFull(f, hdr[:])
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: file shorter than its %d-byte header", ErrCorrupt, headerLen)
	}
	var size int64
	if err == nil {
		size, err = parseHeader(&hdr)
	}
	if err != nil {
		return nil, 0, errors.Join(err, f.Close())
	}
	return f, size, nil
}

// Open returns the exact bytes of blob h, decompressed as they are read. The
// reader returns an error wrapping ErrCorrupt instead of io.EOF if the bytes
// do not have the size in the header or do not hash to h; a caller that
// stops before EOF gets no such check. ctx is checked on every Read.
func (l *Local) Open(ctx context.Context, h Hash) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", h, err)
	}
	inp := l.codec.getEntryBuf()
	defer l.codec.putEntryBuf(inp)
	p, loc, packed, whole, err := l.findPacked(ctx, h, inp)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", h, err)
	}
	if whole {
		r := l.decodeWhole(ctx, h, loc, (*inp)[packHeaderLen:])
		if err := p.release(); err != nil {
			return nil, errors.Join(fmt.Errorf("open blob %s: %w", h, err), r.Close())
		}
		return r, nil
	}
	var src *recordingReader
	var body io.Closer
	size := loc.size
	if packed {
		src = &recordingReader{r: io.NewSectionReader(p.f, loc.offset+packHeaderLen, loc.length-packHeaderLen)}
		body = p
	} else {
		f, fsize, err := l.openFile(h)
		if err != nil {
			return nil, fmt.Errorf("open blob %s: %w", h, err)
		}
		src, body, size = &recordingReader{r: f}, f, fsize
	}
	d, err := l.codec.getDecoder(src)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open blob %s: %w", h, err), body.Close())
	}
	return &blobReader{
		ctx: ctx, codec: l.codec, h: h, size: size,
		body: body, src: src, d: d, hasher: sha256.New(),
	}, nil
}

// wholeMax is the largest raw size Open decodes in one piece: up to the
// encoder's window a streaming decoder holds the blob's bytes as its
// history anyway, so reading the entry with one read and decoding it whole
// costs no more memory, and spares a small message the stream's
// per-read overhead (see docs/design.md, "Reading a blob").
const wholeMax = encoderWindow

// maxWholeFrame bounds the compressed frame of a blob of wholeMax bytes
// (zstd's worst case adds about 1/256 and a few bytes): an index entry
// that claims a longer one is not read whole, and its reader finds what
// is wrong.
const maxWholeFrame = wholeMax + wholeMax/128 + 4096

// decodeWhole decodes and checks in, the compressed bytes of packed blob
// h at loc. Its errors, ErrCorrupt included, come from the first Read.
func (l *Local) decodeWhole(ctx context.Context, h Hash, loc location, in []byte) io.ReadCloser {
	r := &wholeReader{ctx: ctx, codec: l.codec, h: h, raw: l.codec.getWholeBuf(loc.size)}
	d, err := l.codec.getDecoder(nil)
	if err != nil {
		r.err = fmt.Errorf("read blob %s: %w", h, err)
		return r
	}
	out, err := d.dec.DecodeAll(in, (*r.raw)[:0])
	l.codec.putDecoder(d)
	switch {
	case err != nil:
		r.err = r.corrupt("decompress: %v", err)
	case int64(len(out)) != loc.size:
		r.err = r.corrupt("decompresses to %d bytes, header says %d", len(out), loc.size)
	case Hash(sha256.Sum256(out)) != h:
		r.err = r.corrupt("content hashes to %s", Hash(sha256.Sum256(out)))
	}
	r.rest = out // a copy grown past the pooled buffer is garbage
	return r
}

// wholeReader returns a blob decoded in one piece.
type wholeReader struct {
	ctx   context.Context
	codec *codec
	h     Hash
	raw   *[]byte // pooled; nil once closed
	rest  []byte  // not yet read
	err   error   // sticky
}

func (r *wholeReader) Read(p []byte) (int, error) {
	if r.raw == nil {
		return 0, fmt.Errorf("read blob %s: %w", r.h, fs.ErrClosed)
	}
	if r.err != nil {
		return 0, r.err
	}
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("read blob %s: %w", r.h, err)
		return 0, r.err
	}
	if len(r.rest) == 0 {
		r.err = io.EOF
		return 0, io.EOF
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

func (r *wholeReader) corrupt(format string, args ...any) error { return corrupt(r.h, format, args...) }

// Close returns the buffer to the pool. Closing twice is no error.
func (r *wholeReader) Close() error {
	if r.raw != nil {
		r.codec.putWholeBuf(r.raw)
		r.raw, r.rest = nil, nil
	}
	return nil
}

// Verify decompresses blob h and checks its size and hash. It returns an
// error wrapping ErrCorrupt if they do not match, ErrNotFound if the blob
// does not exist, or another error if reading fails.
func (l *Local) Verify(ctx context.Context, h Hash) error {
	r, err := l.Open(ctx, h)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	bufp := l.codec.getBuf()
	defer l.codec.putBuf(bufp)
	_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, *bufp)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// recordingReader remembers the first error of its reader other than
// io.EOF, so a decoder error can be told from an I/O error.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// blobReader decompresses one blob file, hashing what it returns.
type blobReader struct {
	ctx    context.Context
	codec  *codec
	h      Hash
	size   int64     // raw size from the header
	body   io.Closer // the file or the response the compressed bytes come from
	src    *recordingReader
	d      *decoder // nil once closed
	hasher hash.Hash
	n      int64 // bytes returned so far
	err    error // sticky: io.EOF or the first error
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.d == nil {
		return 0, fmt.Errorf("read blob %s: %w", r.h, fs.ErrClosed)
	}
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("read blob %s: %w", r.h, err)
		return 0, r.err
	}
	n, err := r.d.dec.Read(p)
	r.hasher.Write(p[:n])
	r.n += int64(n)
	switch {
	case r.n > r.size:
		r.err = r.corrupt("decompresses to more than the %d bytes in its header", r.size)
	case err == io.EOF:
		r.err = r.checkEnd()
	case err != nil && r.src.err != nil:
		r.err = fmt.Errorf("read blob %s: %w", r.h, r.src.err)
	case err != nil:
		r.err = r.corrupt("decompress after %d bytes: %v", r.n, err)
	}
	if r.err != nil {
		return n, r.err
	}
	return n, nil
}

// checkEnd returns io.EOF if the bytes read have the size and hash they
// must have, and an error wrapping ErrCorrupt otherwise.
func (r *blobReader) checkEnd() error {
	if r.n != r.size {
		return r.corrupt("decompresses to %d bytes, header says %d", r.n, r.size)
	}
	var got Hash
	r.hasher.Sum(got[:0])
	if got != r.h {
		return r.corrupt("content hashes to %s", got)
	}
	return io.EOF
}

func (r *blobReader) corrupt(format string, args ...any) error { return corrupt(r.h, format, args...) }

// corrupt is the error of reading blob h whose bytes are not what they
// must be.
func corrupt(h Hash, format string, args ...any) error {
	return fmt.Errorf("read blob %s: %w: %s", h, ErrCorrupt, fmt.Sprintf(format, args...))
}

// Close releases the decoder and closes the file. Closing twice is no error.
func (r *blobReader) Close() error {
	if r.d == nil {
		return nil
	}
	r.codec.putDecoder(r.d)
	r.d = nil
	if err := r.body.Close(); err != nil {
		return fmt.Errorf("close blob %s: %w", r.h, err)
	}
	return nil
}

package blobstore

import (
	"bufio"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// DefaultLevel is the zstd level Local uses when LocalOptions.Level is zero.
//
// SpeedDefault rather than SpeedFastest, measured with BenchmarkPut on
// mail-like text (see docs in the package's benchmark file): it stores 5 KB
// messages about 4% smaller and long text about 8% smaller, for about 10 µs
// more CPU per 5 KB message. That is small beside the file creation, rename
// and fsyncs every Put pays anyway, and beside fetching the message over IMAP.
// SpeedBetterCompression gains under 1% more on messages and costs another
// 30% of CPU. Attachments (base64) compress the same at every level. On the
// SpamAssassin corpus (BenchmarkLevelsCorpus) Fastest, Default and Better
// take 29, 42 and 52 µs per message and store 43.1%, 41.6% and 40.9% of the
// raw bytes: Default keeps 3.5% of every kept day's bytes for 13 µs per new
// message (docs/benchmarks.md, "Against the mail server's own limits").
const DefaultLevel = zstd.SpeedDefault

const (
	// encoderWindow bounds the memory of each pooled encoder to about 4 MB
	// (the 8 MB default costs about 18 MB). Matches further back than 1 MB
	// are rare in mail: on 24 MB of concatenated mail-like text the default
	// window compresses 0.3% better, and on a 24 MB message with a base64
	// attachment not at all, while the larger history makes it slower.
	encoderWindow = 1 << 20
	// decoderMaxWindow bounds the memory a decoder may be asked for by a
	// frame header: the largest window of any encoder level (8 MiB), so a
	// corrupted header cannot make Open allocate gigabytes.
	decoderMaxWindow = 8 << 20
	copyBufSize      = 32 << 10
	readBufSize      = 16 << 10
)

// codec pools streaming zstd encoders and decoders of one level, so memory
// stays bounded by the number of concurrent Puts and Opens, not their sizes.
type codec struct {
	level    zstd.EncoderLevel
	encoders sync.Pool // *zstd.Encoder, reset to a nil writer
	decoders sync.Pool // *decoder, reset to a nil reader
	bufs     sync.Pool // *[]byte of copyBufSize
	entries  sync.Pool // *[]byte: a pack entry being built
	smalls   sync.Pool // *[]byte of PackMaxBlob+1: a blob read whole
	wholes   sync.Pool // *[]byte of wholeSmall: a small blob decoded whole
}

// decoder is a pooled synchronous zstd decoder with its input buffer.
type decoder struct {
	dec *zstd.Decoder
	br  *bufio.Reader
}

func newCodec(level zstd.EncoderLevel) (*codec, error) {
	c := &codec{level: level}
	// Build one encoder now so a bad level fails OpenLocal, not Put.
	enc, err := c.newEncoder()
	if err != nil {
		return nil, err
	}
	c.encoders.Put(enc)
	return c, nil
}

func (c *codec) newEncoder() (*zstd.Encoder, error) { return NewEncoder(c.level) }

// NewEncoder returns a synchronous zstd encoder of level with the options
// every stored blob is compressed with. The benchmarks use it to measure
// what compressing the mail costs at least.
func NewEncoder(level zstd.EncoderLevel) (*zstd.Encoder, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(1), // synchronous: no goroutines, one block in memory
		zstd.WithWindowSize(encoderWindow),
		// Entropy-code literals at every level: base64 attachments, most of
		// the bytes of mail, are all literals, and stay 25% larger without.
		zstd.WithAllLitEntropyCompression(true),
		zstd.WithEncoderCRC(true),
		zstd.WithZeroFrames(true), // empty input is a frame too
	)
	if err != nil {
		return nil, fmt.Errorf("zstd encoder level %v: %w", level, err)
	}
	return enc, nil
}

// getEncoder returns a pooled encoder writing to w.
func (c *codec) getEncoder(w io.Writer) (*zstd.Encoder, error) {
	enc, ok := c.encoders.Get().(*zstd.Encoder)
	if !ok {
		var err error
		if enc, err = c.newEncoder(); err != nil {
			return nil, err
		}
	}
	enc.Reset(w)
	return enc, nil
}

// putEncoder returns enc to the pool, dropping its writer.
func (c *codec) putEncoder(enc *zstd.Encoder) {
	enc.Reset(nil)
	c.encoders.Put(enc)
}

// getDecoder returns a pooled decoder reading from r.
func (c *codec) getDecoder(r io.Reader) (*decoder, error) {
	d, ok := c.decoders.Get().(*decoder)
	if !ok {
		dec, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1), // synchronous: no goroutines
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(decoderMaxWindow),
			// And what DecodeAll may produce: a corrupted frame cannot make
			// it allocate more.
			zstd.WithDecoderMaxMemory(decoderMaxWindow),
		)
		if err != nil {
			return nil, fmt.Errorf("zstd decoder: %w", err)
		}
		d = &decoder{dec: dec, br: bufio.NewReaderSize(nil, readBufSize)}
	}
	d.br.Reset(r)
	if err := d.dec.Reset(d.br); err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return d, nil
}

// putDecoder returns d to the pool, dropping its reader.
func (c *codec) putDecoder(d *decoder) {
	if err := d.dec.Reset(nil); err != nil {
		return // a closed decoder cannot be reused; let it go
	}
	d.br.Reset(nil)
	c.decoders.Put(d)
}

func (c *codec) getBuf() *[]byte {
	if b, ok := c.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, copyBufSize)
	return &b
}

func (c *codec) putBuf(b *[]byte) { c.bufs.Put(b) }

// encodeAll appends the zstd frame of src to dst with a pooled encoder.
func (c *codec) encodeAll(src, dst []byte) ([]byte, error) {
	enc, err := c.getEncoder(nil)
	if err != nil {
		return nil, err
	}
	defer c.putEncoder(enc)
	return enc.EncodeAll(src, dst), nil
}

// getEntryBuf returns a pooled buffer for one pack entry.
func (c *codec) getEntryBuf() *[]byte {
	if b, ok := c.entries.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

func (c *codec) putEntryBuf(b *[]byte) {
	if cap(*b) <= 2*PackMaxBlob {
		c.entries.Put(b)
	}
}

// getSmallBuf returns a pooled buffer that holds a whole blob of up to
// PackMaxBlob bytes and one byte more.
func (c *codec) getSmallBuf() *[]byte {
	if b, ok := c.smalls.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, PackMaxBlob+1)
	return &b
}

func (c *codec) putSmallBuf(b *[]byte) { c.smalls.Put(b) }

// wholeSmall is the capacity of the pooled buffers small blobs are
// decoded into (most messages); larger ones use the PackMaxBlob+1 buffers.
const wholeSmall = 64 << 10

// getWholeBuf returns an empty pooled buffer with room for n bytes,
// n at most PackMaxBlob+1.
func (c *codec) getWholeBuf(n int64) *[]byte {
	if n > wholeSmall {
		return c.getSmallBuf()
	}
	if b, ok := c.wholes.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, wholeSmall)
	return &b
}

// putWholeBuf returns a buffer of getWholeBuf to its pool.
func (c *codec) putWholeBuf(b *[]byte) {
	switch cap(*b) {
	case wholeSmall:
		c.wholes.Put(b)
	case PackMaxBlob + 1:
		c.smalls.Put(b)
	}
}

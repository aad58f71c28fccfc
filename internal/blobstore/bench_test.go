package blobstore_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/zstd"

	"mtm/internal/blobstore"
	"mtm/internal/blobstore/blobstoretest"
)

// Run with: go test -run '^$' -bench . -benchtime 2s ./internal/blobstore/
//
// Puts of distinct mail-like messages (blobstoretest.Mail); "stored%" is the
// stored size as a percentage of the raw size.

var levels = []struct {
	name  string
	level zstd.EncoderLevel
}{
	{"fastest", zstd.SpeedFastest},
	{"default", zstd.SpeedDefault},
	{"better", zstd.SpeedBetterCompression},
}

// messages makes distinct messages of one size: variant i is base message
// i%len with its first line replaced by a sequence number.
type messages struct {
	base [][]byte
	buf  []byte
}

func newMessages(size int) *messages {
	m := &messages{buf: make([]byte, size)}
	for i := range 256 {
		m.base = append(m.base, blobstoretest.Mail(uint64(i), size))
	}
	return m
}

// variant returns message i in a buffer reused by the next call.
func (m *messages) variant(i int) []byte {
	copy(m.buf, m.base[i%len(m.base)])
	line := strconv.AppendInt([]byte("X-Seq: "), int64(i), 10)
	line = append(line, "\r\n"...)
	copy(m.buf, line)
	return m.buf
}

func benchLocal(b *testing.B, opts blobstore.LocalOptions) *blobstore.Local {
	b.Helper()
	l, err := blobstore.OpenLocal(filepath.Join(b.TempDir(), "blobs"), opts)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{5000, 20000} {
		msgs := newMessages(size)
		for _, lv := range levels {
			for _, noSync := range []bool{true, false} {
				if !noSync && lv.level != blobstore.DefaultLevel {
					continue // fsync costs the same at every level
				}
				name := strconv.Itoa(size/1000) + "KB/" + lv.name + "/" + map[bool]string{true: "nosync", false: "fsync"}[noSync]
				b.Run(name, func(b *testing.B) {
					l := benchLocal(b, blobstore.LocalOptions{Level: lv.level, NoSync: noSync})
					b.SetBytes(int64(size))
					var raw, stored int64
					i := 0
					for b.Loop() {
						info := blobstoretest.Put(b, l, msgs.variant(i))
						raw += info.Size
						stored += info.StoredSize
						i++
					}
					b.ReportMetric(100*float64(stored)/float64(raw), "stored%")
				})
			}
		}
	}
}

// BenchmarkPutParallel puts 5 KB messages from 8 goroutines per CPU, as
// several IMAP connections would: fsyncs of different files overlap.
func BenchmarkPutParallel(b *testing.B) {
	msgs := newMessages(5000)
	for _, noSync := range []bool{true, false} {
		b.Run(map[bool]string{true: "5KB/nosync", false: "5KB/fsync"}[noSync], func(b *testing.B) {
			l := benchLocal(b, blobstore.LocalOptions{NoSync: noSync})
			var seq atomic.Int64
			b.SetBytes(5000)
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				own := &messages{base: msgs.base, buf: make([]byte, 5000)}
				for pb.Next() {
					data := own.variant(int(seq.Add(1)))
					if _, err := l.Put(context.Background(), bytes.NewReader(data)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPutExisting puts a message that is stored already.
func BenchmarkPutExisting(b *testing.B) {
	data := blobstoretest.Mail(1, 5000)
	for _, noSync := range []bool{true, false} {
		b.Run(map[bool]string{true: "5KB/nosync", false: "5KB/fsync"}[noSync], func(b *testing.B) {
			l := benchLocal(b, blobstore.LocalOptions{NoSync: noSync})
			blobstoretest.Put(b, l, data)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if blobstoretest.Put(b, l, data).Created {
					b.Fatal("stored twice")
				}
			}
		})
	}
}

const largeSize = 64 << 20

// BenchmarkPutLarge streams a 64 MB message (mostly a base64 attachment).
func BenchmarkPutLarge(b *testing.B) {
	for _, noSync := range []bool{true, false} {
		b.Run(map[bool]string{true: "64MB/nosync", false: "64MB/fsync"}[noSync], func(b *testing.B) {
			l := benchLocal(b, blobstore.LocalOptions{NoSync: noSync})
			b.SetBytes(largeSize)
			var seed uint64
			for b.Loop() {
				seed++
				if _, err := l.Put(context.Background(), blobstoretest.NewMailReader(seed, largeSize)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen reads blobs back to EOF, which includes the hash check.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	b.Run("5KB", func(b *testing.B) {
		l := benchLocal(b, blobstore.LocalOptions{NoSync: true})
		msgs := newMessages(5000)
		var hashes []blobstore.Hash
		for i := range 1000 {
			hashes = append(hashes, blobstoretest.Put(b, l, msgs.variant(i)).Hash)
		}
		if err := l.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 32<<10)
		b.SetBytes(5000)
		i := 0
		for b.Loop() {
			if i%len(hashes) == 0 {
				// As the IMAP server does when a folder is selected.
				if err := l.Prefetch(ctx, hashes); err != nil {
					b.Fatal(err)
				}
			}
			readBlob(b, l, hashes[i%len(hashes)], buf)
			i++
		}
	})
	b.Run("64MB", func(b *testing.B) {
		l := benchLocal(b, blobstore.LocalOptions{NoSync: true})
		info, err := l.Put(ctx, blobstoretest.NewMailReader(1, largeSize))
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 32<<10)
		b.SetBytes(largeSize)
		for b.Loop() {
			readBlob(b, l, info.Hash, buf)
		}
	})
}

func readBlob(b *testing.B, l *blobstore.Local, h blobstore.Hash, buf []byte) {
	r, err := l.Open(context.Background(), h)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
		b.Fatal(err)
	}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStat reads a blob's header.
func BenchmarkStat(b *testing.B) {
	l := benchLocal(b, blobstore.LocalOptions{NoSync: true})
	h := blobstoretest.Put(b, l, blobstoretest.Mail(1, 5000)).Hash
	for b.Loop() {
		if _, err := l.Stat(context.Background(), h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompress5KB isolates the encoder: 5 KB messages compressed in
// memory at each level, without hashing or files.
func BenchmarkCompress5KB(b *testing.B) {
	msgs := newMessages(5000)
	for _, lv := range levels {
		b.Run(lv.name, func(b *testing.B) {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lv.level), zstd.WithEncoderConcurrency(1),
				zstd.WithWindowSize(1<<20), zstd.WithAllLitEntropyCompression(true))
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			b.SetBytes(5000)
			i := 0
			for b.Loop() {
				out.Reset()
				enc.Reset(&out)
				if _, err := enc.Write(msgs.variant(i)); err != nil {
					b.Fatal(err)
				}
				if err := enc.Close(); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

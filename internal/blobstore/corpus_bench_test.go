package blobstore_test

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/zstd"

	"mtm/internal/testenv/corpus"
)

// BenchmarkLevelsCorpus compresses every message of the SpamAssassin corpus
// (6,046 real messages) once per iteration, each as its own frame as a pack
// entry is, at each zstd level: the size and CPU trade-off of
// LocalOptions.Level on real mail. "stored%" is the compressed size as a
// percentage of the raw size; MB/s is raw bytes per second on one core.
//
//	go test -run '^$' -bench LevelsCorpus -benchtime 5x ./internal/blobstore/
func BenchmarkLevelsCorpus(b *testing.B) {
	var msgs [][]byte
	var raw int64
	for _, m := range corpus.SpamAssassin(b) {
		crlf := bytes.ReplaceAll(m.Bytes, []byte("\n"), []byte("\r\n"))
		msgs = append(msgs, crlf)
		raw += int64(len(crlf))
	}
	for _, lv := range levels {
		b.Run(lv.name, func(b *testing.B) {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lv.level), zstd.WithEncoderConcurrency(1),
				zstd.WithWindowSize(1<<20))
			if err != nil {
				b.Fatal(err)
			}
			var stored int64
			var dst []byte
			b.SetBytes(raw)
			b.ResetTimer()
			for range b.N {
				stored = 0
				for _, m := range msgs {
					dst = enc.EncodeAll(m, dst[:0])
					stored += int64(len(dst))
				}
			}
			b.ReportMetric(100*float64(stored)/float64(raw), "stored%")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(msgs)), "µs/msg")
		})
	}
}

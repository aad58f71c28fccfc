package blobstore

import (
	"encoding/binary"
	"fmt"
)

// The 16-byte skippable zstd frame that starts every blob file and records
// the raw size (see the package documentation).
const (
	headerMagic     = 0x184D2A5B // a zstd skippable-frame magic (0x184D2A5?)
	headerFrameSize = 8          // bytes of frame content: the raw size
	headerLen       = 4 + 4 + headerFrameSize
)

// putHeader writes the header for a blob of rawSize bytes into b.
func putHeader(b *[headerLen]byte, rawSize int64) {
	binary.LittleEndian.PutUint32(b[0:4], headerMagic)
	binary.LittleEndian.PutUint32(b[4:8], headerFrameSize)
	binary.LittleEndian.PutUint64(b[8:16], uint64(rawSize))
}

// parseHeader returns the raw size recorded in a blob file's header.
func parseHeader(b *[headerLen]byte) (int64, error) {
	if m := binary.LittleEndian.Uint32(b[0:4]); m != headerMagic {
		return 0, fmt.Errorf("%w: header magic %#08x, want %#08x", ErrCorrupt, m, uint32(headerMagic))
	}
	if n := binary.LittleEndian.Uint32(b[4:8]); n != headerFrameSize {
		return 0, fmt.Errorf("%w: header frame size %d, want %d", ErrCorrupt, n, headerFrameSize)
	}
	size := binary.LittleEndian.Uint64(b[8:16])
	if size > 1<<62 {
		return 0, fmt.Errorf("%w: header raw size %d is implausible", ErrCorrupt, size)
	}
	return int64(size), nil
}

package blobstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"mtm/internal/blobstore"
	"mtm/internal/blobstore/blobstoretest"
)

// newLocal opens a Local in a new data directory and checks, when the test
// ends, that no temporary file is left.
func newLocal(t *testing.T, opts blobstore.LocalOptions) (*blobstore.Local, string) {
	t.Helper()
	dataDir := t.TempDir()
	l, err := blobstore.OpenLocal(filepath.Join(dataDir, "blobs"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkTmpEmpty(t, dataDir) })
	return l, dataDir
}

func checkTmpEmpty(t *testing.T, dataDir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
}

func TestLocalSuite(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) blobstore.Store {
		l, _ := newLocal(t, blobstore.LocalOptions{}) // with fsync, as in production
		return l
	})
}

func TestLocalSuiteFastest(t *testing.T) {
	if testing.Short() {
		t.Skip("second level in -short")
	}
	blobstoretest.Run(t, func(t *testing.T) blobstore.Store {
		l, _ := newLocal(t, blobstore.LocalOptions{Level: zstd.SpeedFastest, NoSync: true})
		return l
	})
}

func TestParseHash(t *testing.T) {
	const hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tests := []struct {
		in      string
		want    string // "" for an error
		wantErr string
	}{
		{hex, hex, ""},
		{strings.ToUpper(hex), hex, ""},
		{hex[:63], "", "want 64 hex digits"},
		{hex + "0", "", "want 64 hex digits"},
		{"", "", "want 64 hex digits"},
		{"g" + hex[1:], "", "invalid byte"},
	}
	for _, tc := range tests {
		h, err := blobstore.ParseHash(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseHash(%q) = %v, %v; want error containing %q", tc.in, h, err, tc.wantErr)
			}
			continue
		}
		if err != nil || h.String() != tc.want {
			t.Errorf("ParseHash(%q) = %v, %v; want %s", tc.in, h, err, tc.want)
		}
	}
	if got := blobstoretest.HashOf(nil).String(); got != hex {
		t.Errorf("hash of nothing = %s, want %s", got, hex)
	}
}

func TestOpenLocalBadLevel(t *testing.T) {
	_, err := blobstore.OpenLocal(filepath.Join(t.TempDir(), "blobs"), blobstore.LocalOptions{Level: 99})
	if err == nil {
		t.Fatal("OpenLocal with level 99 succeeded")
	}
}

// TestLayout checks the file names, modes and format that the package
// documentation and docs/design.md specify, with an independent decoder.
func TestLayout(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	data := blobstoretest.Mail(1, blobstore.PackMaxBlob+1) // larger blobs are loose
	info := blobstoretest.Put(t, l, data)
	hex := info.Hash.String()
	name := filepath.Join(dataDir, "blobs", hex[0:2], hex[2:4], hex)
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatalf("blob not where design.md says: %v", err)
	}
	if fi.Mode() != 0o400 {
		t.Errorf("blob file mode %v, want -r--------", fi.Mode())
	}
	if fi.Size() != info.StoredSize {
		t.Errorf("file size %d, StoredSize %d", fi.Size(), info.StoredSize)
	}
	for _, d := range []string{filepath.Dir(name), filepath.Dir(filepath.Dir(name))} {
		di, err := os.Stat(d)
		if err != nil || !di.IsDir() || di.Mode().Perm()&^0o750 != 0 {
			t.Errorf("directory %s: %v, %v; want a directory of mode at most 0750", d, di.Mode(), err)
		}
	}
	file, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := binary.LittleEndian.AppendUint32(nil, 0x184D2A5B)
	wantHeader = binary.LittleEndian.AppendUint32(wantHeader, 8)
	wantHeader = binary.LittleEndian.AppendUint64(wantHeader, uint64(len(data)))
	if !bytes.Equal(file[:16], wantHeader) {
		t.Fatalf("header % x, want % x", file[:16], wantHeader)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	// The rest is one zstd frame of the exact bytes, and a plain zstd
	// decoder skips the header frame.
	for _, in := range [][]byte{file[16:], file} {
		got, err := dec.DecodeAll(in, nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decoding with a plain zstd decoder: %d bytes, %v", len(got), err)
		}
	}
	want := []string{hex[0:2], "index.db", "index.db-shm", "index.db-wal", "packs"}
	if got := dirNames(t, filepath.Join(dataDir, "blobs")); !slices.Equal(got, want) {
		t.Errorf("blobs/ holds %v, want %v", got, want)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestPackLayout checks pack files as design.md specifies them, with an
// independent decoder: small blobs are entries of one pack, each a 48-byte
// skippable frame (magic, size 40, raw size, SHA-256) and a zstd frame.
func TestPackLayout(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	ctx := context.Background()
	var datas [][]byte
	for i := range 3 {
		datas = append(datas, blobstoretest.Mail(uint64(20+i), 3000+5000*i))
		blobstoretest.Put(t, l, datas[i])
	}
	if err := l.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	packs := dirNames(t, filepath.Join(dataDir, "blobs", "packs"))
	if len(packs) != 1 || len(packs[0]) != len("0123456789abcdef.pack") || !strings.HasSuffix(packs[0], ".pack") {
		t.Fatalf("packs/ holds %v, want one <16 hex>.pack", packs)
	}
	name := filepath.Join(dataDir, "blobs", "packs", packs[0])
	fi, err := os.Stat(name)
	if err != nil || fi.Mode() != 0o400 {
		t.Fatalf("sealed pack: %v, %v; want mode -r--------", fi.Mode(), err)
	}
	file, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var end int64
	for _, data := range datas {
		h := blobstoretest.HashOf(data)
		loc, err := l.Locate(ctx, h)
		if err != nil || !loc.Packed || loc.Path != name || loc.Offset != end {
			t.Fatalf("Locate = %+v, %v; want entry at %d of %s", loc, err, end, name)
		}
		entry := file[loc.Offset : loc.Offset+loc.Length]
		want := binary.LittleEndian.AppendUint32(nil, 0x184D2A5C)
		want = binary.LittleEndian.AppendUint32(want, 40)
		want = binary.LittleEndian.AppendUint64(want, uint64(len(data)))
		want = append(want, h[:]...)
		if !bytes.Equal(entry[:48], want) {
			t.Fatalf("entry header % x, want % x", entry[:48], want)
		}
		for _, in := range [][]byte{entry[48:], entry} {
			got, err := dec.DecodeAll(in, nil)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("decoding an entry with a plain zstd decoder: %d bytes, %v", len(got), err)
			}
		}
		end += loc.Length
	}
	if end != int64(len(file)) {
		t.Errorf("entries end at %d, pack has %d bytes", end, len(file))
	}
	// A plain decoder prints the concatenated messages.
	got, err := dec.DecodeAll(file, nil)
	if err != nil || !bytes.Equal(got, bytes.Join(datas, nil)) {
		t.Fatalf("decoding the pack: %d bytes, %v", len(got), err)
	}
	// Reopened, the store finds them through its index.
	l2, err := blobstore.OpenLocal(filepath.Join(dataDir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	for _, data := range datas {
		if got := blobstoretest.ReadAll(t, l2, blobstoretest.HashOf(data)); !bytes.Equal(got, data) {
			t.Fatal("reopened store reads other bytes")
		}
	}
}

func TestListSkipsStrayFiles(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	info := blobstoretest.Put(t, l, []byte("real"))
	hex := info.Hash.String()
	blobs := filepath.Join(dataDir, "blobs")
	other := blobstoretest.HashOf([]byte("other")).String()
	for _, name := range []string{
		"README",
		"zz/00/x",
		hex[0:2] + "/" + hex[2:4] + "/" + strings.ToUpper(hex), // not lowercase
		hex[0:2] + "/" + hex[2:4] + "/" + other,                // wrong directory
		hex[0:2] + "/" + hex[2:4] + "/" + hex + ".tmp",
	} {
		p := filepath.Join(blobs, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("stray"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	got := blobstoretest.ListAll(t, l)
	if len(got) != 1 || got[info.Hash].StoredSize != info.StoredSize {
		t.Fatalf("List = %v, want only %s", got, hex)
	}
}

// TestCorruption flips every bit of a small blob's loose file or pack entry
// in turn, and checks truncation and appended bytes: Verify and reading to
// EOF must fail with ErrCorrupt and name the hash, unless the damaged file
// still decodes to the exact bytes (zstd has a few bits that decoders
// ignore): never may a reader get wrong bytes without an error.
func TestCorruption(t *testing.T) {
	for _, tc := range []struct {
		name    string
		packMax int
		header  int
	}{{"loose", -1, 16}, {"packed", 0, 48}} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLocal(t, blobstore.LocalOptions{NoSync: true, PackMax: tc.packMax})
			data := blobstoretest.Mail(2, 3000)
			info := blobstoretest.Put(t, l, data)
			// A second blob after it, so the entry is not at the end of its pack.
			blobstoretest.Put(t, l, blobstoretest.Mail(3, 2000))
			loc, err := l.Locate(context.Background(), info.Hash)
			if err != nil || loc.Packed != (tc.packMax == 0) {
				t.Fatalf("Locate = %+v, %v", loc, err)
			}
			checkCorruption(t, l, loc, info.Hash, data, tc.header)
		})
	}
}

func checkCorruption(t *testing.T, l *blobstore.Local, loc blobstore.Location, h blobstore.Hash, data []byte, headerLen int) {
	hex := h.String()
	file, err := os.ReadFile(loc.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loc.Path, 0o640); err != nil {
		t.Fatal(err)
	}
	start, end := loc.Offset, loc.Offset+loc.Length
	orig := file[start:end]
	// check replaces the blob's bytes by content and reports whether the
	// damage was detected.
	check := func(what string, content []byte, mayBeHarmless bool) bool {
		t.Helper()
		damaged := append(append(append([]byte{}, file[:start]...), content...), file[end:]...)
		if err := os.WriteFile(loc.Path, damaged, 0o640); err != nil {
			t.Fatal(err)
		}
		verr := l.Verify(context.Background(), h)
		var got []byte
		r, rerr := l.Open(context.Background(), h)
		if rerr == nil {
			got, rerr = io.ReadAll(r)
			if cerr := r.Close(); cerr != nil {
				t.Fatalf("%s: Close: %v", what, cerr)
			}
		}
		if verr == nil && rerr == nil && mayBeHarmless && bytes.Equal(got, data) {
			return false
		}
		if !errors.Is(verr, blobstore.ErrCorrupt) || !strings.Contains(verr.Error(), hex) {
			t.Fatalf("%s: Verify = %v, want ErrCorrupt naming the hash", what, verr)
		}
		if !errors.Is(rerr, blobstore.ErrCorrupt) || !strings.Contains(rerr.Error(), hex) {
			t.Fatalf("%s: Open and read = %v, want ErrCorrupt naming the hash", what, rerr)
		}
		return true
	}
	bad := make([]byte, len(orig))
	detected, harmless := 0, []string{}
	for i := range orig {
		for bit := range 8 {
			copy(bad, orig)
			bad[i] ^= 1 << bit
			what := "byte " + strconv.Itoa(i) + " bit " + strconv.Itoa(bit)
			if check(what, bad, i >= headerLen) {
				detected++
			} else {
				harmless = append(harmless, what)
			}
		}
	}
	t.Logf("%d of %d bit flips detected; harmless (same bytes decoded): %v", detected, 8*len(orig), harmless)
	if len(harmless) > len(orig)/100+8 {
		t.Errorf("%d harmless bit flips, expected a handful", len(harmless))
	}
	if !loc.Packed {
		check("truncated", orig[:len(orig)-1], false)
		check("truncated header", orig[:10], false)
		check("empty file", nil, false)
		check("appended byte", append(append([]byte{}, orig...), 0), false)
		check("appended frame", append(append([]byte{}, orig...), orig[16:]...), false)
	} else {
		// The pack ends inside the entry, or before it.
		file = file[:end]
		check("truncated", orig[:len(orig)-1], false)
		check("truncated header", orig[:10], false)
		check("pack ends before the entry", nil, false)
	}
	if err := os.WriteFile(loc.Path, append(append([]byte{}, file[:start]...), orig...), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(context.Background(), h); err != nil {
		t.Fatalf("Verify of the restored file: %v", err)
	}
	if err := l.Verify(context.Background(), blobstoretest.HashOf(nil)); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("Verify of a missing blob: %v, want ErrNotFound", err)
	}
}

func TestCleanTmp(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	tmp := filepath.Join(dataDir, "tmp")
	cutoff := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	old, recent := cutoff.Add(-2*time.Hour), cutoff.Add(time.Minute)
	files := []struct {
		name      string
		mtime     time.Time
		wantKept  bool
		isForeign bool
	}{
		{"blob-123.tmp", old, false, false},
		{"blob-456.tmp", recent, true, false},
		{"export-789.tmp", old, true, true}, // another package's file
	}
	for _, f := range files {
		p := filepath.Join(tmp, f.name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}

	// A Put in progress whose file looks old is not removed.
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		r := &pausingReader{r: blobstoretest.NewMailReader(3, 1<<20), at: 100 << 10, started: started, release: release}
		_, err := l.Put(context.Background(), r)
		done <- err
	}()
	<-started
	entries, err := filepath.Glob(filepath.Join(tmp, "blob-*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range entries {
		if base := filepath.Base(p); base == files[0].name || base == files[1].name {
			continue
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.CleanTmp(cutoff); err != nil {
		t.Fatalf("CleanTmp: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Put during CleanTmp: %v", err)
	}

	for _, f := range files {
		_, err := os.Stat(filepath.Join(tmp, f.name))
		if kept := err == nil; kept != f.wantKept {
			t.Errorf("%s: kept = %v, want %v", f.name, kept, f.wantKept)
		}
		if f.wantKept {
			if err := os.Remove(filepath.Join(tmp, f.name)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// pausingReader signals started after at bytes and waits for release.
type pausingReader struct {
	r                io.Reader
	at               int64
	started, release chan struct{}
}

func (p *pausingReader) Read(b []byte) (int, error) {
	if p.at <= 0 && p.started != nil {
		close(p.started)
		p.started = nil
		<-p.release
	}
	if int64(len(b)) > p.at && p.at > 0 {
		b = b[:p.at]
	}
	n, err := p.r.Read(b)
	p.at -= int64(n)
	return n, err
}

// TestMemoryBounded puts and reads back a 100 MB stream and checks that the
// bytes allocated meanwhile stay far below its size: nothing buffers it.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB stream in -short")
	}
	const size = 100 << 20
	const bound = 32 << 20
	l, _ := newLocal(t, blobstore.LocalOptions{NoSync: true})
	ctx := context.Background()

	var info blobstore.Info
	allocated := measureAlloc(t, func() {
		var err error
		info, err = l.Put(ctx, blobstoretest.NewMailReader(4, size))
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Put of %d MB allocated %.1f MB", size>>20, float64(allocated)/(1<<20))
	if allocated > bound {
		t.Errorf("Put of %d MB allocated %d MB, want < %d MB", size>>20, allocated>>20, bound>>20)
	}

	allocated = measureAlloc(t, func() {
		r, err := l.Open(ctx, info.Hash)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 32<<10))
		if err != nil || n != size {
			t.Fatalf("read %d bytes, %v", n, err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Open and read of %d MB allocated %.1f MB", size>>20, float64(allocated)/(1<<20))
	if allocated > bound {
		t.Errorf("Open of %d MB allocated %d MB, want < %d MB", size>>20, allocated>>20, bound>>20)
	}
}

// measureAlloc returns the bytes allocated on the heap while fn runs. It is
// an upper bound on the heap growth fn causes.
func measureAlloc(t *testing.T, fn func()) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

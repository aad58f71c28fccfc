package export

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// bufSize is the size of the read and write buffers of the mbox writer.
// Lines may be longer: they are copied in pieces.
const bufSize = 64 << 10

// mbox is the Writer of NewMbox.
type mbox struct {
	dir    string
	br     *bufio.Reader // shared by all folders, reset per message
	open   int           // folders not yet closed
	closed bool
}

// NewMbox returns a Writer that writes one mboxrd file per folder under dir,
// which must be absent or an empty directory. See the package documentation
// for the layout.
func NewMbox(dir string) (Writer, error) {
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	return &mbox{dir: dir, br: bufio.NewReaderSize(nil, bufSize)}, nil
}

// Folder creates the mbox file of f.
func (w *mbox) Folder(f Folder) (FolderWriter, error) {
	if w.closed {
		return nil, fmt.Errorf("folder %q: export already closed", f.Name)
	}
	parts := folderPath(f)
	last := len(parts) - 1
	parent := filepath.Join(append([]string{w.dir}, parts[:last]...)...)
	if err := os.MkdirAll(parent, dirMode); err != nil {
		return nil, fmt.Errorf("folder %q: %w", f.Name, err)
	}
	path := filepath.Join(parent, parts[last]+mboxSuffix)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil, errTaken(f.Name, path)
	}
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", f.Name, err)
	}
	w.open++
	return &mboxFolder{w: w, name: f.Name, f: out, bw: bufio.NewWriterSize(out, bufSize)}, nil
}

// Close finishes the export.
func (w *mbox) Close() error {
	if w.closed {
		return errors.New("mbox export: already closed")
	}
	w.closed = true
	if w.open > 0 {
		return fmt.Errorf("mbox export: %d folders not closed", w.open)
	}
	return nil
}

// mboxFolder is the FolderWriter of one mbox file. Between calls its buffer
// is empty and the file holds whole messages only.
type mboxFolder struct {
	w      *mbox
	name   string // the IMAP name, for errors
	f      *os.File
	bw     *bufio.Writer
	closed bool
}

// Add appends m to the file. If it fails, the file is cut back to the
// messages before m.
func (f *mboxFolder) Add(m Message) error {
	if f.closed {
		return fmt.Errorf("folder %q uid %d: folder already closed", f.name, m.UID)
	}
	start, err := f.f.Seek(0, io.SeekCurrent)
	if err == nil {
		if err = f.add(m); err != nil {
			f.bw.Reset(f.f)
			err = errors.Join(err, truncate(f.f, start))
		}
	}
	if err != nil {
		return fmt.Errorf("folder %q uid %d: %w", f.name, m.UID, err)
	}
	return nil
}

// truncate cuts f back to size and moves its offset there.
func truncate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	_, err := f.Seek(size, io.SeekStart)
	return err
}

func (f *mboxFolder) add(m Message) (err error) {
	r, err := m.Open()
	if err != nil {
		return fmt.Errorf("open message: %w", err)
	}
	defer func() { err = errors.Join(err, closeMessage(r)) }()
	if _, err := f.bw.WriteString(fromLine(m.InternalDate)); err != nil {
		return err
	}
	br := f.w.br
	br.Reset(r)
	defer br.Reset(nil) // drop the reference to r
	if err := writeMboxrd(f.bw, br); err != nil {
		return err
	}
	if err := f.bw.WriteByte('\n'); err != nil {
		return err
	}
	return f.bw.Flush()
}

// fromLine returns the From_ line that starts a message received at t.
func fromLine(t time.Time) string {
	return "From MAILER-DAEMON " + t.UTC().Format(time.ANSIC) + "\n"
}

// Close closes the file.
func (f *mboxFolder) Close() error {
	if f.closed {
		return fmt.Errorf("folder %q: already closed", f.name)
	}
	f.closed = true
	f.w.open--
	if err := errors.Join(f.bw.Flush(), f.f.Close()); err != nil {
		return fmt.Errorf("folder %q: %w", f.name, err)
	}
	return nil
}

// writeMboxrd copies a message from r to w quoted as mboxrd, with CRLF line
// endings turned into LF and a final newline added if missing. It holds at
// most the buffers of r and w, whatever the length of the lines.
func writeMboxrd(w *bufio.Writer, r *bufio.Reader) error {
	for {
		if _, err := r.Peek(1); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		if err := quoteFrom(w, r); err != nil {
			return err
		}
		ended, err := copyLine(w, r)
		if err != nil {
			return err
		}
		if !ended {
			return w.WriteByte('\n')
		}
	}
}

var fromPrefix = []byte("From ")

// quoteFrom copies the '>' characters that start a line and writes one more
// if the line matches "^>*From ".
func quoteFrom(w *bufio.Writer, r *bufio.Reader) error {
	n := 0
	for {
		c, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		if c != '>' {
			if err := r.UnreadByte(); err != nil {
				return fmt.Errorf("read message: %w", err)
			}
			break
		}
		n++
	}
	p, err := r.Peek(len(fromPrefix))
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read message: %w", err)
	}
	if bytes.Equal(p, fromPrefix) {
		n++
	}
	for n > 0 {
		k := min(n, bufSize)
		if _, err := w.WriteString(strings.Repeat(">", k)); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// copyLine copies the rest of a line from r to w, writing CRLF as LF. It
// reports whether the line ended with a newline; if not, r is at EOF.
func copyLine(w *bufio.Writer, r *bufio.Reader) (ended bool, err error) {
	pendingCR := false // a CR ended the previous piece
	for {
		piece, err := r.ReadSlice('\n')
		if pendingCR && !bytes.Equal(piece, []byte("\n")) {
			if err := w.WriteByte('\r'); err != nil {
				return false, err
			}
		}
		pendingCR = false
		switch {
		case err == nil:
			if n := len(piece); n >= 2 && piece[n-2] == '\r' {
				if _, err := w.Write(piece[:n-2]); err != nil {
					return false, err
				}
				piece = piece[n-1:]
			}
			_, err := w.Write(piece)
			return true, err
		case errors.Is(err, bufio.ErrBufferFull):
			if n := len(piece); piece[n-1] == '\r' {
				piece, pendingCR = piece[:n-1], true
			}
			if _, err := w.Write(piece); err != nil {
				return false, err
			}
		case errors.Is(err, io.EOF):
			_, err := w.Write(piece)
			return false, err
		default:
			return false, fmt.Errorf("read message: %w", err)
		}
	}
}

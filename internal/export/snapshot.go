package export

import (
	"context"
	"errors"
	"fmt"
	"io"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
)

// Catalog is what an export reads of the catalog.
type Catalog interface {
	catalog.Browsing
}

// Blobs opens stored messages.
type Blobs interface {
	Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error)
}

// Snapshot writes the folders of snap (only those named in only, if any)
// with their messages to w, streaming each message from blobs, and returns
// how many messages it wrote. A folder of only that is not in the
// snapshot is an error, reported after the others are written. It does not
// close w.
func Snapshot(ctx context.Context, cat Catalog, blobs Blobs, snap catalog.Snapshot, only []string, w Writer) (int, error) {
	all, err := cat.Folders(ctx, snap)
	if err != nil {
		return 0, err
	}
	want := make(map[string]bool, len(only))
	for _, f := range only {
		want[f] = true
	}
	n := 0
	for _, f := range all {
		if len(want) > 0 && !want[f.Name] {
			continue
		}
		delete(want, f.Name)
		fw, err := w.Folder(Folder{Name: f.Name, Delimiter: f.Delimiter})
		if err != nil {
			return n, err
		}
		if f.MailboxID != 0 {
			var chunk []catalog.Message
			err = cat.Messages(ctx, snap, f.MailboxID, func(m catalog.Message) error {
				n++
				if chunk = append(chunk, m); len(chunk) < aheadChunk {
					return nil
				}
				err := addAll(ctx, blobs, fw, chunk)
				chunk = chunk[:0]
				return err
			})
			if err == nil {
				err = addAll(ctx, blobs, fw, chunk)
			}
		}
		if err = errors.Join(err, fw.Close()); err != nil {
			return n, err
		}
	}
	for f := range want {
		return n, fmt.Errorf("folder %q is not in snapshot %d", f, snap.ID)
	}
	return n, nil
}

// aheadChunk is how many messages of a folder are gathered before they are
// written, so that a store whose reads wait (S3) can read them ahead.
const aheadChunk = 256

// addAll adds msgs to fw in order, their blobs read ahead from a store
// whose reads wait (blobstore.Ahead), else opened in turn.
func addAll(ctx context.Context, blobs Blobs, fw FolderWriter, msgs []catalog.Message) error {
	list := make([]blobstore.AheadBlob, len(msgs))
	for i, m := range msgs {
		list[i] = blobstore.AheadBlob{Hash: blobstore.Hash(m.Hash), Size: m.Size}
	}
	a := blobstore.NewAhead(ctx, blobs, list, blobstore.AheadOptions{})
	defer a.Stop()
	for i, m := range msgs {
		err := fw.Add(Message{UID: m.UID, Flags: m.Flags, InternalDate: m.InternalDate, Size: m.Size,
			Open: func() (io.ReadCloser, error) { return a.Open(ctx, blobs, i, blobstore.Hash(m.Hash)) }})
		a.Release(i)
		if err != nil {
			return err
		}
	}
	return nil
}

// Open returns the writer of format "maildir" (byte-exact) or "mbox"
// (mboxrd) into the directory dir, which must be absent or empty.
func Open(format, dir string) (Writer, error) {
	switch format {
	case "maildir":
		return NewMaildir(dir)
	case "mbox":
		return NewMbox(dir)
	}
	return nil, fmt.Errorf("%w: %q is not maildir or mbox", ErrFormat, format)
}

// ErrFormat: an export format that is neither maildir nor mbox.
var ErrFormat = errors.New("unknown export format")

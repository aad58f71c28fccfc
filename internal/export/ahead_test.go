package export_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"mtm/internal/export"
	"mtm/internal/testenv/mailstore"
	"mtm/internal/testenv/slowblobs"
)

// memWriter keeps what is exported, per folder, in order.
type memWriter struct{ folders map[string][][]byte }

func (w *memWriter) Folder(f export.Folder) (export.FolderWriter, error) {
	w.folders[f.Name] = [][]byte{}
	return memFolder{w, f.Name}, nil
}

func (w *memWriter) Close() error { return nil }

type memFolder struct {
	w    *memWriter
	name string
}

func (f memFolder) Add(m export.Message) error {
	rc, err := m.Open()
	if err != nil {
		return err
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.w.folders[f.name] = append(f.w.folders[f.name], b)
	return rc.Close()
}

func (memFolder) Close() error { return nil }

// TestSnapshotReadsAhead: from a blob store whose reads wait, an export
// reads the messages ahead (several reads under way), across the chunks
// it gathers them in, and writes every message byte for byte, in order.
func TestSnapshotReadsAhead(t *testing.T) {
	st := mailstore.New(t, time.Date(2026, 11, 22, 23, 5, 0, 0, time.UTC), time.UTC)
	var msgs []mailstore.Msg
	for i := range 600 { // over two chunks of 256
		msgs = append(msgs, mailstore.Msg{UID: uint32(i + 1),
			Raw: []byte(fmt.Sprintf("Subject: m%d\r\nMessage-ID: <%d@x>\r\n\r\nbody %d\r\n", i, i, i))})
	}
	snap := st.Snapshot(t, "alice@example.com", []mailstore.Folder{{Name: "INBOX", Messages: msgs},
		{Name: "Empty"}})
	slow := &slowblobs.Store{Opener: st.Blobs, Ahead: 4, Delay: 5 * time.Millisecond}
	w := &memWriter{folders: map[string][][]byte{}}
	n, err := export.Snapshot(context.Background(), st.Cat.Browser(), slow, snap, nil, w)
	if err != nil || n != len(msgs) {
		t.Fatalf("exported %d messages, %v; want %d", n, err, len(msgs))
	}
	got := w.folders["INBOX"]
	if len(got) != len(msgs) || len(w.folders["Empty"]) != 0 {
		t.Fatalf("exported %d messages in INBOX, %d in Empty; want %d and 0", len(got), len(w.folders["Empty"]), len(msgs))
	}
	for i, m := range msgs {
		if !bytes.Equal(got[i], m.Raw) {
			t.Fatalf("message %d exported as %q, want %q", i, got[i], m.Raw)
		}
	}
	if c := slow.Reset(); c.Most < 2 || c.Most > 5 {
		t.Errorf("%d reads under way at once, want 2 to 5", c.Most)
	}
}

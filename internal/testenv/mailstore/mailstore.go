// Package mailstore is test support: a data directory (catalog and blob
// store in a temp dir) filled with snapshots described in Go, without an
// IMAP server. Tests of the webmail, the search index and the benchmarks use
// it; tests that need real IMAP behaviour use testenv/dovecot and the
// snapshot engine instead.
package mailstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/mailsum"
)

// Store is an open data directory.
type Store struct {
	Cat   *catalog.DB
	Blobs *blobstore.Local
	Clock *clock.Fake
	Dir   string

	hashes   map[string][32]byte          // "mailbox/uid" -> hash of its live version
	contents map[[32]byte]catalog.Content // by the SHA-256 of the raw message: stored once
}

// Folder is one folder of a snapshot.
type Folder struct {
	Name        string
	Delimiter   string // default "/"
	SpecialUse  string
	Subscribed  bool
	Container   bool // \Noselect: no mailbox
	UIDValidity uint32
	Messages    []Msg
}

// Msg is one message of a folder.
type Msg struct {
	UID   uint32
	Raw   []byte
	Flags []string
}

// New opens an empty data directory whose clock starts at start (days are
// taken in loc).
func New(t testing.TB, start time.Time, loc *time.Location) *Store {
	t.Helper()
	dir := t.TempDir()
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(start)
	cat, err := catalog.Open(context.Background(), filepath.Join(dir, "catalog.db"),
		catalog.Options{Clock: clk, Location: loc, Owner: "mailstore:1:test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	return &Store{Cat: cat, Blobs: blobs, Clock: clk, Dir: dir, hashes: map[string][32]byte{},
		contents: map[[32]byte]catalog.Content{}}
}

// Snapshot commits a snapshot of account holding exactly folders, at the
// store clock's time. Messages are staged as new versions each time, so
// ids change from one snapshot to the next only where content or flags do.
func (s *Store) Snapshot(t testing.TB, account string, folders []Folder) catalog.Snapshot {
	t.Helper()
	ctx := context.Background()
	acct, err := s.Cat.Account(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Cat.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	var states []catalog.FolderState
	for _, f := range folders {
		fs := catalog.FolderState{Name: f.Name, Delimiter: f.Delimiter, SpecialUse: f.SpecialUse, Subscribed: f.Subscribed}
		if fs.Delimiter == "" {
			fs.Delimiter = "/"
		}
		if f.Container {
			fs.Attributes = []string{`\Noselect`}
		} else {
			fs.MailboxID = s.stageFolder(t, run, f)
		}
		states = append(states, fs)
	}
	if err := run.StageFolders(ctx, states); err != nil {
		t.Fatal(err)
	}
	snap, err := run.Commit(ctx, catalog.RunStats{})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func (s *Store) stageFolder(t testing.TB, run *catalog.Run, f Folder) int64 {
	t.Helper()
	ctx := context.Background()
	uv := f.UIDValidity
	if uv == 0 {
		uv = 1
	}
	mb, err := run.Mailbox(ctx, f.Name, uv)
	if err != nil {
		t.Fatal(err)
	}
	live := map[uint32]catalog.LiveEntry{}
	if err := run.LiveEntries(ctx, mb.ID, 1, 1<<31, func(e catalog.LiveEntry) error { live[e.UID] = e; return nil }); err != nil {
		t.Fatal(err)
	}
	var b catalog.Batch
	last := uint32(0)
	for _, m := range f.Messages {
		last = max(last, m.UID)
		c := s.put(t, m.Raw)
		key := fmt.Sprintf("%d/%d", mb.ID, m.UID)
		if e, ok := live[m.UID]; ok {
			delete(live, m.UID)
			if s.hashes[key] == c.Hash && e.Flags == catalog.JoinFlags(m.Flags) {
				continue
			}
			b.End(e.ID)
		}
		s.hashes[key] = c.Hash
		b.AddMessage(mb.ID, m.UID, m.Flags, s.Clock.Now(), c)
		if b.Len() >= 500 {
			s.flush(t, run, &b)
		}
	}
	for _, e := range live {
		b.End(e.ID)
	}
	b.SetState(catalog.Mailbox{ID: mb.ID, LastUID: last, UIDNext: last + 1})
	s.flush(t, run, &b)
	return mb.ID
}

func (s *Store) flush(t testing.TB, run *catalog.Run, b *catalog.Batch) {
	t.Helper()
	if err := s.Blobs.Sync(context.Background()); err != nil { // blobs before references
		t.Fatal(err)
	}
	if err := run.Flush(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	*b = catalog.Batch{}
}

func (s *Store) put(t testing.TB, raw []byte) catalog.Content {
	t.Helper()
	key := sha256.Sum256(raw)
	if c, ok := s.contents[key]; ok {
		return c
	}
	info, err := s.Blobs.Put(context.Background(), bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	sum := mailsum.Parse(raw)
	s.contents[key] = catalog.Content{Hash: info.Hash, Size: info.Size, StoredSize: info.StoredSize, From: sum.From, To: sum.To,
		Cc: sum.Cc, Subject: sum.Subject, Date: sum.Date, MessageID: sum.MessageID, HasAttachments: sum.HasAttachments}
	return s.contents[key]
}

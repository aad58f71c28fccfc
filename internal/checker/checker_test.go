package checker

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
)

// store is a catalog and a blob store holding one committed snapshot of
// three messages.
type store struct {
	dir   string
	cat   *catalog.DB
	blobs *blobstore.Local
	hash  []blobstore.Hash
}

func newStore(t *testing.T) *store {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(ctx, filepath.Join(dir, "catalog.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	s := &store{dir: dir, cat: cat, blobs: blobs}
	acct, err := cat.Account(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	run, err := cat.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := run.Mailbox(ctx, "INBOX", 1)
	if err != nil {
		t.Fatal(err)
	}
	var b catalog.Batch
	for i, body := range []string{"Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n2\r\n", "Subject: three\r\n\r\n3\r\n"} {
		info, err := blobs.Put(ctx, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := blobs.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		s.hash = append(s.hash, info.Hash)
		b.AddMessage(mb.ID, uint32(i+1), nil, time.Unix(1e9, 0), catalog.Content{Hash: info.Hash, Size: info.Size,
			StoredSize: info.StoredSize})
	}
	if err := run.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := run.StageFolders(ctx, []catalog.FolderState{{Name: "INBOX", MailboxID: mb.ID, Delimiter: "/"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Commit(ctx, catalog.RunStats{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *store) check(t *testing.T, percent int) *Report {
	t.Helper()
	rep, err := Check(context.Background(), s.cat, s.blobs, Options{ReadDataPercent: percent})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (s *store) locate(t *testing.T, h blobstore.Hash) blobstore.Location {
	t.Helper()
	loc, err := s.blobs.Locate(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// exec changes the catalog behind the catalog package's back, as damage
// would, with foreign keys off.
func (s *store) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dir, "catalog.db")+"?_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close() //nolint:errcheck // test helper
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

func TestCleanStore(t *testing.T) {
	s := newStore(t)
	rep := s.check(t, 100)
	if !rep.OK() {
		t.Fatalf("a clean store has problems: %q", rep.Problems)
	}
	if rep.Contents != 3 || rep.Referenced != 3 || rep.BlobsRead != 3 {
		t.Errorf("checked %d contents, %d referenced, read %d blobs; want 3, 3, 3", rep.Contents, rep.Referenced,
			rep.BlobsRead)
	}
	if rep := s.check(t, 0); rep.BlobsRead != 0 {
		t.Errorf("without --read-data the check read %d blobs", rep.BlobsRead)
	}
}

func TestFindsDamage(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, s *store)
		percent int
		want    string
	}{
		{"deleted blob", func(t *testing.T, s *store) {
			if err := s.blobs.Delete(context.Background(), s.hash[1]); err != nil {
				t.Fatal(err)
			}
		}, 0, "blob %s of content 2 is missing"},
		{"lost pack file", func(t *testing.T, s *store) {
			loc := s.locate(t, s.hash[1])
			if err := os.Remove(loc.Path); err != nil {
				t.Fatal(err)
			}
		}, 0, "blob %s of content 2 is missing"},
		{"corrupted blob", func(t *testing.T, s *store) {
			loc := s.locate(t, s.hash[1])
			b, err := os.ReadFile(loc.Path)
			if err != nil {
				t.Fatal(err)
			}
			b[loc.Offset+loc.Length-6] ^= 0xff // inside the zstd frame, not the header
			if err := os.Chmod(loc.Path, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(loc.Path, b, 0o440); err != nil {
				t.Fatal(err)
			}
		}, 100, "blob %s of content 2: "},
		{"dangling catalog row", func(t *testing.T, s *store) {
			s.exec(t, `INSERT INTO entries(account_id, mailbox_id, uid, content_id, flags, internal_date, internal_tz,
				first_snap) VALUES(1, 1, 99, 12345, '', 0, 0, 1)`)
		}, 0, "foreign key: entries row"},
		{"half-written committed snapshot", func(t *testing.T, s *store) {
			s.exec(t, `INSERT INTO staged_ends(account_id, snapshot_id, entry_id) VALUES(1, 1, 1)`)
		}, 0, "snapshot 1 is committed but still has staging rows"},
		{"lost message version", func(t *testing.T, s *store) {
			s.exec(t, `DELETE FROM entries WHERE uid = 3`)
		}, 0, "snapshot 1 records 3 messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tt.damage(t, s)
			want := strings.Replace(tt.want, "%s", s.hash[1].String(), 1)
			rep := s.check(t, tt.percent)
			if rep.OK() {
				t.Fatal("the check found no problem")
			}
			for _, p := range rep.Problems {
				if strings.Contains(p, want) {
					return
				}
			}
			t.Errorf("problems %q do not include %q", rep.Problems, want)
		})
	}
}

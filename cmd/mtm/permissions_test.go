package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDataIsPrivate: whatever the umask (here 022, the usual), the data
// directory and everything mtm creates in it is its owner's alone: the
// directories 0700, the catalog (password hashes, sessions) and the blobs
// 0600. Before, the catalog and the directories were readable by every
// local user.
func TestDataIsPrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a snapshot")
	}
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	e.dc.Append(t, alice, "INBOX", []byte("Subject: hi\r\n\r\nhello\r\n"), nil, time.Time{})
	e.mustMTM("snapshot")
	data := filepath.Join(e.dir, "data")
	seen := 0
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		seen++
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is %v: others or the group may read it", p, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "catalog.db")); err != nil || seen < 5 {
		t.Fatalf("%d files checked: %v", seen, err)
	}
}

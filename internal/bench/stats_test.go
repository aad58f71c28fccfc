package bench

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dirSize is the size of the files under a directory.
type dirSize struct {
	Files, Dirs int64
	Bytes       int64 // sum of file sizes
	Allocated   int64 // disk blocks of files and directories (what du shows)
}

func sizeOf(dir string) (dirSize, error) {
	var s dirSize
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !(d.Type().IsRegular() || d.IsDir()) {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			s.Dirs++
		} else {
			s.Files++
			s.Bytes += fi.Size()
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			s.Allocated += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		return dirSize{}, fmt.Errorf("size of %s: %w", dir, err)
	}
	return s, nil
}

// catalogStats are the catalog's file size and row counts.
type catalogStats struct {
	Bytes                                        int64 // catalog.db with its -wal and -shm
	Used                                         int64 // bytes of the pages in use (not on the free list)
	Snapshots, Contents, Entries, Folders, Boxes int64
}

// readCatalog reads the catalog of a data directory while no mtm runs.
func readCatalog(data string) (catalogStats, error) {
	var st catalogStats
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(filepath.Join(data, "catalog.db"+suffix))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return st, err
		}
		st.Bytes += fi.Size()
	}
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "catalog.db")+"?"+q.Encode())
	if err != nil {
		return st, fmt.Errorf("opening catalog: %w", err)
	}
	for table, n := range map[string]*int64{"snapshots": &st.Snapshots, "contents": &st.Contents,
		"entries": &st.Entries, "folders": &st.Folders, "mailboxes": &st.Boxes} {
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(n); err != nil {
			err = fmt.Errorf("counting %s: %w", table, err)
			return st, errors.Join(err, db.Close())
		}
	}
	var pages, free, pageSize int64
	err = errors.Join(db.QueryRow("PRAGMA page_count").Scan(&pages), db.QueryRow("PRAGMA freelist_count").Scan(&free),
		db.QueryRow("PRAGMA page_size").Scan(&pageSize))
	st.Used = (pages - free) * pageSize
	if err := errors.Join(err, db.Close()); err != nil {
		return st, fmt.Errorf("reading catalog: %w", err)
	}
	return st, nil
}

// median returns the median of ds (the mean of the middle two for an even
// count); 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// seconds formats d as seconds with a precision that suits its size.
func seconds(d time.Duration) string {
	switch s := d.Seconds(); {
	case s < 10:
		return fmt.Sprintf("%.2f s", s)
	case s < 100:
		return fmt.Sprintf("%.1f s", s)
	default:
		return fmt.Sprintf("%.0f s", s)
	}
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// runList formats every run's wall time: "41.2 s, 40.9 s, 42.0 s".
func runList(ms []measured) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, seconds(m.Wall))
	}
	return strings.Join(parts, ", ")
}

// walls returns the wall times of ms.
func walls(ms []measured) []time.Duration {
	var out []time.Duration
	for _, m := range ms {
		out = append(out, m.Wall)
	}
	return out
}

// maxRSS returns the largest peak RSS of ms.
func maxRSS(ms []measured) int64 {
	var peak int64
	for _, m := range ms {
		peak = max(peak, m.MaxRSS)
	}
	return peak
}

package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	return rec.Code, string(b)
}

func TestHealthz(t *testing.T) {
	if code, body := get(t, Healthz()); code != 200 || body != "ok\n" {
		t.Errorf("healthz = %d %q", code, body)
	}
}

type fakeCatalog struct{ err error }

func (f fakeCatalog) CountRows(ctx context.Context, table string) (int, error) {
	if table != "accounts" {
		return 0, errors.New("unexpected table " + table)
	}
	return 3, f.err
}

func TestReadyz(t *testing.T) {
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	slow := Check{Name: "slow", Run: func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return nil
		}
	}}
	tests := []struct {
		name     string
		checks   []Check
		wantCode int
		want     []string
	}{
		{"all good", []Check{CatalogCheck(fakeCatalog{}), DirWritable("data_dir", dir)}, 200, []string{"ready\n"}},
		{"catalog down", []Check{CatalogCheck(fakeCatalog{errors.New("database is locked")}), DirWritable("data_dir", dir)},
			503, []string{"not ready\n", "catalog: the catalog does not answer: database is locked\n"}},
		{"data dir missing", []Check{CatalogCheck(fakeCatalog{}), DirWritable("data_dir", filepath.Join(dir, "gone"))},
			503, []string{"data_dir: " + filepath.Join(dir, "gone") + " is not writable"}},
		{"data dir is a file", []Check{DirWritable("data_dir", filepath.Join(dir, "file"))},
			503, []string{"not a directory"}},
		{"slow check times out", []Check{slow}, 503, []string{"slow: context deadline exceeded"}},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		tests = append(tests, struct {
			name     string
			checks   []Check
			wantCode int
			want     []string
		}{"data dir read-only", []Check{DirWritable("data_dir", readOnly)}, 503, []string{"data_dir: " + readOnly + " is not writable"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, Readyz(100*time.Millisecond, tt.checks...))
			if code != tt.wantCode {
				t.Errorf("code %d, want %d; body %q", code, tt.wantCode, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body %q lacks %q", body, w)
				}
			}
		})
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 {
		t.Errorf("the writability check left files behind: %v", left)
	}
}

package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// Healthz answers 200 "ok" to every request while the process serves
// HTTP at all: the liveness probe, for a service manager that restarts a
// hung process.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		noCache(w)
		fmt.Fprintln(w, "ok")
	})
}

// Check is one condition of readiness. Run returns nil when it holds.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Readyz runs every check, each within timeout (default 5 s), and answers
// 200 "ready" when all pass, else 503 with one line per failed check,
// "name: reason": the readiness probe, for a load balancer that sends
// traffic only to a process that can serve it.
func Readyz(timeout time.Duration, checks ...Check) http.Handler {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var failed []string
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err := c.Run(ctx)
			cancel()
			if err != nil {
				failed = append(failed, c.Name+": "+oneLine(err.Error()))
			}
		}
		noCache(w)
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			for _, f := range failed {
				fmt.Fprintln(w, f)
			}
			return
		}
		fmt.Fprintln(w, "ready")
	})
}

func noCache(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Counter is what CatalogCheck needs of the catalog; *catalog.DB is one.
type Counter interface {
	CountRows(ctx context.Context, table string) (int, error)
}

// CatalogCheck passes when the catalog answers a query (it counts the
// accounts table, a small one).
func CatalogCheck(cat Counter) Check {
	return Check{Name: "catalog", Run: func(ctx context.Context) error {
		if _, err := cat.CountRows(ctx, "accounts"); err != nil {
			return fmt.Errorf("the catalog does not answer: %w", err)
		}
		return nil
	}}
}

// DirWritable passes when a file can be created, written, synced and
// removed in dir (the data directory: a full or read-only disk fails it).
func DirWritable(name, dir string) Check {
	return Check{Name: name, Run: func(context.Context) error {
		f, err := os.CreateTemp(dir, ".readyz-*")
		if err != nil {
			return fmt.Errorf("%s is not writable: %w", dir, err)
		}
		_, werr := f.Write([]byte("ok\n"))
		err = errors.Join(werr, f.Sync(), f.Close(), os.Remove(f.Name()))
		if err != nil {
			return fmt.Errorf("%s is not writable: %w", dir, err)
		}
		return nil
	}}
}

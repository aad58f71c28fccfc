package progress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mtm/internal/clock"
)

var t0 = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)

// textLogger logs at level into w, without the time.
func textLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func TestLogMode(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level
		want  string
	}{
		{
			name:  "info",
			level: slog.LevelInfo,
			want: `level=INFO msg="account done" account=a@example.org folders=3 messages=100 bytes=2000000 fetched_messages=10 fetched_bytes=150000 duration=2s
level=ERROR msg="account failed" account=b@example.org folders=0 messages=0 bytes=0 fetched_messages=0 fetched_bytes=0 duration=500ms err="login: authentication failed"
level=WARN msg="snapshot run finished" accounts=3 done=1 failed=1 folders=3 messages=100 bytes=2000000 fetched_messages=10 fetched_bytes=150000 elapsed=1m0s
`,
		},
		{
			name:  "debug shows starts",
			level: slog.LevelDebug,
			want: `level=DEBUG msg="account started" account=a@example.org
level=INFO msg="account done" account=a@example.org folders=3 messages=100 bytes=2000000 fetched_messages=10 fetched_bytes=150000 duration=2s
level=DEBUG msg="account started" account=b@example.org
level=ERROR msg="account failed" account=b@example.org folders=0 messages=0 bytes=0 fetched_messages=0 fetched_bytes=0 duration=500ms err="login: authentication failed"
level=WARN msg="snapshot run finished" accounts=3 done=1 failed=1 folders=3 messages=100 bytes=2000000 fetched_messages=10 fetched_bytes=150000 elapsed=1m0s
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, logs bytes.Buffer
			clk := clock.NewFake(t0)
			r := New(&out, textLogger(&logs, tt.level), clk, 3)
			r.AccountStarted("a@example.org")
			r.Add(3, 10, 150000)
			r.AccountDone("a@example.org", nil, AccountStats{Folders: 3, Messages: 100, Bytes: 2e6, FetchedMessages: 10, FetchedBytes: 150000, Duration: 2 * time.Second})
			r.AccountStarted("b@example.org")
			r.AccountDone("b@example.org", errors.New("login: authentication failed"), AccountStats{Duration: 500 * time.Millisecond})
			clk.Advance(time.Minute)
			s := r.Finish()

			if got := logs.String(); got != tt.want {
				t.Errorf("log:\n%s\nwant:\n%s", got, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("log mode wrote to w: %q", out.String())
			}
			if s.Elapsed != time.Minute || s.AccountsDone != 1 || s.AccountsFailed != 1 || s.Messages != 10 {
				t.Errorf("summary %+v", s)
			}
			logs.Reset()
			if again := r.Finish(); again.String() != s.String() || logs.Len() != 0 {
				t.Errorf("second Finish: %v, logged %q", again, logs.String())
			}
		})
	}
}

func TestNewOnFileIsLogMode(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	r := New(f, nil, clock.NewFake(t0), 1)
	if _, ok := r.(*reporter).out.(*logOutput); !ok {
		t.Fatalf("output %T on a regular file, want *logOutput", r.(*reporter).out)
	}
	r.Finish()
}

func TestSummaryString(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
		want string
	}{
		{
			name: "all done",
			s: Summary{
				Counters: Counters{AccountsDone: 3, AccountsTotal: 3},
				Totals:   AccountStats{Folders: 12, Messages: 3400, Bytes: 1_234_000_000, FetchedMessages: 120, FetchedBytes: 45_000_000},
				Elapsed:  90 * time.Second,
			},
			want: "3 accounts in 1m30s: 3 done, 0 failed; 12 folders, 3400 messages, 1.2 GB; fetched 120 messages, 45.0 MB (0.5 MB/s, 1 msg/s)",
		},
		{
			name: "failures and unfinished",
			s: Summary{
				Counters: Counters{AccountsDone: 1, AccountsFailed: 2, AccountsTotal: 5},
				Failed:   []string{"b@example.org", "c@example.org"},
				Elapsed:  1500 * time.Millisecond,
			},
			want: "5 accounts in 2s: 1 done, 2 failed (b@example.org, c@example.org), 2 not finished; 0 folders, 0 messages, 0 B; fetched 0 messages, 0 B (0.0 MB/s, 0 msg/s)",
		},
		{
			name: "many failures",
			s: Summary{
				Counters: Counters{AccountsFailed: 7, AccountsTotal: 7},
				Failed:   []string{"1@x.org", "2@x.org", "3@x.org", "4@x.org", "5@x.org", "6@x.org", "7@x.org"},
			},
			want: "7 accounts in 0s: 0 done, 7 failed (1@x.org, 2@x.org, 3@x.org, 4@x.org, 5@x.org and 2 more); 0 folders, 0 messages, 0 B; fetched 0 messages, 0 B (0.0 MB/s, 0 msg/s)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestTerminalRender(t *testing.T) {
	tests := []struct {
		name  string
		width int
		steps func(r *reporter, clk *clock.Fake)
		want  string
	}{
		{
			name:  "start",
			steps: func(r *reporter, clk *clock.Fake) {},
			want:  "\raccounts 0/3 (0 running) | 0 folders | 0 messages | 0 B | 0.0 MB/s, 0 msg/s | 0s\x1b[K",
		},
		{
			name: "running",
			steps: func(r *reporter, clk *clock.Fake) {
				r.AccountStarted("a@example.org")
				r.AccountStarted("b@example.org")
				r.Add(4, 200, 10_000_000)
				r.AccountDone("a@example.org", nil, AccountStats{})
				clk.Advance(4 * time.Second)
			},
			want: "\raccounts 1/3 (1 running) | 4 folders | 200 messages | 10.0 MB | 2.5 MB/s, 50 msg/s | 4s\x1b[K",
		},
		{
			name:  "truncated to the terminal width",
			width: 21,
			steps: func(r *reporter, clk *clock.Fake) {
				r.AccountStarted("a@example.org")
				r.AccountDone("a@example.org", errors.New("boom"), AccountStats{})
			},
			want: "\r\x1b[Ka@example.org: failed: boom\n\raccounts 1/3 (0 runn\x1b[K",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := clock.NewFake(t0)
			r := newReporter(clk, 3)
			term := newTerminal(&buf, r, tt.width)
			r.out = term
			tt.steps(r, clk)
			term.render()
			if got := buf.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTerminalFinish(t *testing.T) {
	var buf bytes.Buffer
	clk := clock.NewFake(t0)
	r := newReporter(clk, 1)
	term := newTerminal(&buf, r, 0)
	r.out = term
	term.start(time.Hour) // no tick during the test
	r.AccountStarted("a@example.org")
	r.AccountDone("a@example.org", nil, AccountStats{Folders: 2, Messages: 5, Bytes: 5000, FetchedMessages: 5, FetchedBytes: 5000})
	clk.Advance(10 * time.Second)
	s := r.Finish()
	want := clearLine + s.String() + "\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	// Nothing is drawn after the summary.
	term.render()
	r.AccountDone("late@example.org", errors.New("late"), AccountStats{})
	if buf.String() != want {
		t.Errorf("output after Finish: %q", strings.TrimPrefix(buf.String(), want))
	}
}

// TestConcurrentAdd runs with -race: Add, the account calls and the
// terminal's redraws all run at once.
func TestConcurrentAdd(t *testing.T) {
	const workers, adds = 16, 2000
	for _, mode := range []string{"log", "terminal"} {
		t.Run(mode, func(t *testing.T) {
			var buf syncBuffer
			clk := clock.NewFake(t0)
			var r *reporter
			if mode == "log" {
				r = New(&buf, textLogger(&buf, slog.LevelDebug), clk, workers).(*reporter)
			} else {
				r = newReporter(clk, workers)
				term := newTerminal(&buf, r, 80)
				r.out = term
				term.start(time.Millisecond)
			}
			var wg sync.WaitGroup
			for i := range workers {
				wg.Go(func() {
					addr := fmt.Sprintf("u%d@example.org", i)
					r.AccountStarted(addr)
					for range adds {
						r.Add(1, 2, 3)
						clk.Advance(time.Microsecond)
					}
					r.AccountDone(addr, nil, AccountStats{Messages: 1})
				})
			}
			wg.Wait()
			s := r.Finish()
			want := Counters{AccountsDone: workers, AccountsTotal: workers, Folders: workers * adds, Messages: 2 * workers * adds, Bytes: 3 * workers * adds}
			if s.Counters != want || s.Totals.Messages != workers {
				t.Errorf("got %+v, totals %+v, want %+v", s.Counters, s.Totals, want)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent test, where the
// logger and the reporter may both write.
type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

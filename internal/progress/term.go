package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"mtm/internal/bytesize"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// terminal draws a status line that is rewritten in place.
type terminal struct {
	r     *reporter
	width int // columns; 0 when unknown

	mu     sync.Mutex // serializes writes to w
	w      io.Writer
	closed bool

	stop chan struct{}
	done chan struct{}
}

func newTerminal(w io.Writer, r *reporter, width int) *terminal {
	return &terminal{r: r, w: w, width: width}
}

// start redraws the status line every interval until finish.
func (t *terminal) start(interval time.Duration) {
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				t.render()
			case <-t.stop:
				return
			}
		}
	}()
}

// render rewrites the status line with the reporter's current state.
func (t *terminal) render() {
	c, running, elapsed := t.r.status()
	line := statusLine(c, running, elapsed)
	if t.width > 1 && len(line) > t.width-1 { // the last column would wrap
		line = line[:t.width-1]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		// A write error to the terminal is not worth stopping a backup for.
		_, _ = io.WriteString(t.w, "\r"+line+"\x1b[K")
	}
}

func (t *terminal) accountStarted(string) {}

// accountDone prints failures above the status line, which the next tick
// redraws; successes only show in the counts.
func (t *terminal) accountDone(addr string, err error, _ AccountStats) {
	if err == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		_, _ = fmt.Fprintf(t.w, "%s%s: failed: %v\n", clearLine, addr, err)
	}
}

// finish stops the redraws, clears the status line and prints the summary.
func (t *terminal) finish(s Summary) {
	if t.stop != nil {
		close(t.stop)
		<-t.done
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	_, _ = fmt.Fprintf(t.w, "%s%s\n", clearLine, s)
}

// statusLine is the text of the status line.
func statusLine(c Counters, running int, elapsed time.Duration) string {
	failed := ""
	if c.AccountsFailed > 0 {
		failed = fmt.Sprintf(", %d failed", c.AccountsFailed)
	}
	return fmt.Sprintf("accounts %d/%d (%d running%s) | %d folders | %d messages | %s | %s | %s",
		c.AccountsDone+c.AccountsFailed, c.AccountsTotal, running, failed,
		c.Folders, c.Messages, bytesize.Format(c.Bytes),
		formatRates(c.Messages, c.Bytes, elapsed), formatDuration(elapsed))
}

package progress

import (
	"fmt"
	"strings"
	"time"

	"mtm/internal/bytesize"
)

// maxFailedShown is how many failed addresses Summary.String lists.
const maxFailedShown = 5

// String describes the run on one line, for people, for example
//
//	3 accounts in 1m30s: 2 done, 1 failed (c@example.org); 12 folders,
//	3400 messages, 1.2 GB; fetched 120 messages, 45.0 MB (0.5 MB/s, 1 msg/s)
//
// (without the line break).
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d accounts in %s: %d done, %d failed",
		s.AccountsTotal, formatDuration(s.Elapsed), s.AccountsDone, s.AccountsFailed)
	if len(s.Failed) > 0 {
		shown := s.Failed[:min(len(s.Failed), maxFailedShown)]
		more := ""
		if n := len(s.Failed) - len(shown); n > 0 {
			more = fmt.Sprintf(" and %d more", n)
		}
		fmt.Fprintf(&b, " (%s%s)", strings.Join(shown, ", "), more)
	}
	if n := s.AccountsTotal - s.AccountsDone - s.AccountsFailed; n > 0 {
		fmt.Fprintf(&b, ", %d not finished", n)
	}
	fmt.Fprintf(&b, "; %d folders, %d messages, %s; fetched %d messages, %s (%s)",
		s.Totals.Folders, s.Totals.Messages, bytesize.Format(s.Totals.Bytes),
		s.Totals.FetchedMessages, bytesize.Format(s.Totals.FetchedBytes),
		formatRates(s.Totals.FetchedMessages, s.Totals.FetchedBytes, s.Elapsed))
	return b.String()
}

// formatRates writes the throughput of messages and bytes over elapsed.
func formatRates(messages, bytes int64, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	if secs <= 0 {
		return "0.0 MB/s, 0 msg/s"
	}
	return fmt.Sprintf("%.1f MB/s, %.0f msg/s", float64(bytes)/1e6/secs, float64(messages)/secs)
}

// formatDuration writes d to the second: 0s, 42s, 1m30s, 2h0m5s.
func formatDuration(d time.Duration) string {
	return d.Round(time.Second).String()
}

package restore

import "testing"

func TestBatchLen(t *testing.T) {
	sizes := func(s ...int64) []Message {
		var out []Message
		for _, n := range s {
			out = append(out, Message{Size: n})
		}
		return out
	}
	const k = 1 << 10
	for _, tc := range []struct {
		name     string
		msgs     []Message
		maxBatch int
		max      int64
		want     int
	}{
		{"one per APPEND", sizes(1, 2, 3), 1, 0, 1},
		{"all fit", sizes(k, k, k), 100, batchMessageMax, 3},
		{"count", sizes(make([]int64, 150)...), 100, batchMessageMax, 100},
		{"large first goes alone", sizes(batchMessageMax+1, k), 100, batchMessageMax, 1},
		{"large later ends the batch", sizes(k, k, batchMessageMax+1, k), 100, batchMessageMax, 2},
		{"bytes", sizes(batchMessageMax, batchMessageMax, batchMessageMax, batchMessageMax, batchMessageMax,
			batchMessageMax, batchMessageMax, batchMessageMax, k), 100, batchMessageMax, 8},
		{"APPENDLIMIT", sizes(k, 3*k, k), 100, 2 * k, 1},
	} {
		if got := batchLen(tc.msgs, tc.maxBatch, tc.max); got != tc.want {
			t.Errorf("%s: batchLen = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestUnsendableFlag(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		want  string
		found bool
	}{
		{nil, "", false},
		{[]string{`\Seen`, `\answered`, `\Flagged`, `\Draft`, "$Label1", "Junk", "$Forwarded"}, "", false},
		{[]string{`\Seen`, `\Bogus`}, `\Bogus`, true},
		{[]string{`\Recent`}, `\Recent`, true},
		{[]string{"a b"}, "a b", true},
		{[]string{"x]"}, "x]", true},
		{[]string{"é"}, "é", true},
		{[]string{""}, "", true},
	} {
		if got, found := unsendableFlag(tc.flags); got != tc.want || found != tc.found {
			t.Errorf("unsendableFlag(%q) = %q, %v; want %q, %v", tc.flags, got, found, tc.want, tc.found)
		}
	}
}

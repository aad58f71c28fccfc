package bytesize

import (
	"fmt"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1.0 kB"}, {1049, "1.0 kB"}, {999_949, "999.9 kB"},
		{999_950, "1.0 MB"}, {12_345_678, "12.3 MB"}, {5e12, "5.0 TB"}, {3e18, "3000.0 PB"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			if got := Format(tt.n); got != tt.want {
				t.Errorf("Format(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

// Package bytesize is the one way mtm writes a byte count for people: the
// command line, the progress and summary lines, plans, and the admin panel
// all print sizes through Format, in decimal (SI) units.
package bytesize

import (
	"fmt"
	"math"
)

// Format writes n in decimal units: 999 B, 1.0 kB, 12.3 MB, ...
func Format(n int64) string {
	if n < 1000 && n > -1000 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	v, i := float64(n)/1000, 0
	for math.Abs(v) >= 999.95 && i < len(units)-1 { // 999.95 would print as 1000.0
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

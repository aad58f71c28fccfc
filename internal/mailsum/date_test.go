package mailsum

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	z := func(h, m int) *time.Location { return time.FixedZone("", (h*60+m)*60) }
	tests := []struct {
		in   string
		want time.Time
	}{
		{"Tue, 27 Aug 2002 16:37:53 +0200", time.Date(2002, 8, 27, 16, 37, 53, 0, z(2, 0))},
		{"27 Aug 2002 16:37:53 -0500 (EST)", time.Date(2002, 8, 27, 16, 37, 53, 0, z(-5, 0))},
		{"Tue, 27 Aug 2002 16:37:53 -0500 (EST)", time.Date(2002, 8, 27, 16, 37, 53, 0, z(-5, 0))},
		{"Tue,  7 Aug 2002 06:37:53 +0000", time.Date(2002, 8, 7, 6, 37, 53, 0, time.UTC)},
		{"Tue, 07 Aug 2002 06:37:53 -0000", time.Date(2002, 8, 7, 6, 37, 53, 0, time.UTC)},
		{"Tue, 27 Aug 2002 16:37:53 -0500 (EST) x", time.Date(2002, 8, 27, 16, 37, 53, 0, z(-5, 0))}, // net/mail's
		{"Tue, 27 Aug 2002 16:37:53 -0500 (EST", time.Time{}},                                        // an unclosed comment
		{"Tue, 27 Aug 2002 16:37 GMT", time.Date(2002, 8, 27, 16, 37, 0, 0, time.UTC)},
		{"Tue, 27 Aug 2002 16:37:53 EDT", time.Date(2002, 8, 27, 16, 37, 53, 0, z(-4, 0))},
		{"Tue, 27 Aug 2002 16:37:53 CEST", time.Date(2002, 8, 27, 16, 37, 53, 0, z(2, 0))},
		{"Tue, 27 Aug 2002 16:37:53 XYZT", time.Date(2002, 8, 27, 16, 37, 53, 0, time.UTC)},
		{"Tue, 27 Aug 02 16:37:53 +0000", time.Date(2002, 8, 27, 16, 37, 53, 0, time.UTC)},
		{"Tue, 27 Aug 102 16:37:53 +0000", time.Time{}}, // three-digit year: no layout has one
		{"Tue Aug 27 16:37:53 2002", time.Date(2002, 8, 27, 16, 37, 53, 0, time.UTC)},
		{"Tue Aug 27 16:37:53 EDT 2002", time.Date(2002, 8, 27, 16, 37, 53, 0, z(-4, 0))},
		{"Tue, 27 Aug 2002 16:37:53", time.Date(2002, 8, 27, 16, 37, 53, 0, time.UTC)},
		{"27-Aug-2002 16:37:53 +0530", time.Date(2002, 8, 27, 16, 37, 53, 0, z(5, 30))},
		{"2002-08-27 16:37:53", time.Date(2002, 8, 27, 16, 37, 53, 0, time.UTC)},
		{"Tuesday, August 27, 2002 4:37 PM", time.Date(2002, 8, 27, 16, 37, 0, 0, time.UTC)},
		{"Tue, 27 Aug 2002 12:05:00 AM -0700", time.Date(2002, 8, 27, 0, 5, 0, 0, z(-7, 0))},
		{"Tue, 27 Aug 2002 16:37:53 GMT+0100", time.Date(2002, 8, 27, 16, 37, 53, 0, z(1, 0))},
		{"Tue, 27 Aug 2002 16:37:53 +100", time.Time{}}, // three-digit offset: no layout has one
		{"Tue,\r\n 27 Aug 2002 16:37:53 +0200", time.Date(2002, 8, 27, 16, 37, 53, 0, z(2, 0))},
		{"", time.Time{}},
		{"yesterday", time.Time{}},
		{"32 Aug 2002 10:00:00", time.Time{}},
		{"27 Aug 2002 25:00:00", time.Time{}},
		{"02.09.2002", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := parseDate(tc.in)
			if !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
				t.Errorf("parseDate(%q) = %v, want %v", tc.in, got, tc.want)
			}
			_, off := got.Zone()
			if _, wantOff := tc.want.Zone(); off != wantOff {
				t.Errorf("zone offset %d, want %d", off, wantOff)
			}
		})
	}
}

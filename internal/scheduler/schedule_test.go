package scheduler

import (
	"testing"
	"time"
)

func rome(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestFireTimesAcrossDST checks the fire times of the days around both DST
// changes of 2026 in Rome: 29 March (02:00 becomes 03:00) and 25 October
// (03:00 becomes 02:00 again).
func TestFireTimesAcrossDST(t *testing.T) {
	loc := rome(t)
	cet, cest := time.FixedZone("CET", 3600), time.FixedZone("CEST", 7200)
	tests := []struct {
		name   string
		hour   int
		minute int
		m      time.Month
		days   []int
		want   []time.Time
	}{
		{"02:30 spring forward: runs at the change, 03:00 CEST", 2, 30, time.March, []int{28, 29, 30}, []time.Time{
			time.Date(2026, 3, 28, 2, 30, 0, 0, cet),
			time.Date(2026, 3, 29, 3, 0, 0, 0, cest),
			time.Date(2026, 3, 30, 2, 30, 0, 0, cest)}},
		{"02:30 fall back: the first 02:30, CEST", 2, 30, time.October, []int{24, 25, 26}, []time.Time{
			time.Date(2026, 10, 24, 2, 30, 0, 0, cest),
			time.Date(2026, 10, 25, 2, 30, 0, 0, cest),
			time.Date(2026, 10, 26, 2, 30, 0, 0, cet)}},
		{"00:00 spring forward", 0, 0, time.March, []int{28, 29, 30}, []time.Time{
			time.Date(2026, 3, 28, 0, 0, 0, 0, cet),
			time.Date(2026, 3, 29, 0, 0, 0, 0, cet),
			time.Date(2026, 3, 30, 0, 0, 0, 0, cest)}},
		{"00:00 fall back", 0, 0, time.October, []int{24, 25, 26}, []time.Time{
			time.Date(2026, 10, 24, 0, 0, 0, 0, cest),
			time.Date(2026, 10, 25, 0, 0, 0, 0, cest),
			time.Date(2026, 10, 26, 0, 0, 0, 0, cet)}},
		{"02:00 spring forward: the hour that does not exist starts at 03:00", 2, 0, time.March, []int{29}, []time.Time{
			time.Date(2026, 3, 29, 3, 0, 0, 0, cest)}},
		{"02:59 fall back: first occurrence", 2, 59, time.October, []int{25}, []time.Time{
			time.Date(2026, 10, 25, 2, 59, 0, 0, cest)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Schedule{Location: loc, Hour: tt.hour, Minute: tt.minute}
			for i, d := range tt.days {
				if got := s.On(2026, tt.m, d); !got.Equal(tt.want[i]) {
					t.Errorf("On(%d %s) = %v, want %v", d, tt.m, got, tt.want[i])
				}
			}
		})
	}
}

// TestNextAndPrevWalkEveryDayOnce walks a whole year of fire times with
// Next and back with Prev: one fire per calendar day, at the wall time
// whenever it exists, never by adding 24 h.
func TestNextAndPrevWalkEveryDayOnce(t *testing.T) {
	loc := rome(t)
	for _, at := range [][2]int{{0, 0}, {2, 30}, {23, 59}} {
		s := Schedule{Location: loc, Hour: at[0], Minute: at[1]}
		f := s.Next(time.Date(2025, 12, 31, 23, 59, 59, 0, loc))
		day := time.Date(2026, 1, 1, 12, 0, 0, 0, loc)
		for i := 0; i < 365; i++ {
			if got, want := s.Night(f), day.Format(time.DateOnly); got != want {
				t.Fatalf("%s: fire %d is on %s, want %s", s, i, got, want)
			}
			if l := f.In(loc); (l.Hour() != at[0] || l.Minute() != at[1]) && s.Night(f) != "2026-03-29" {
				t.Errorf("%s: fire on %s at %s", s, s.Night(f), l.Format("15:04"))
			}
			if p := s.Prev(f); !p.Equal(f) {
				t.Fatalf("%s: Prev(%v) = %v, want the fire itself", s, f, p)
			}
			if p := s.Prev(f.Add(-time.Nanosecond)); !p.Before(f) || !s.Next(p).Equal(f) {
				t.Fatalf("%s: Prev just before %v = %v, whose Next is %v", s, f, p, s.Next(p))
			}
			f, day = s.Next(f), day.AddDate(0, 0, 1)
		}
	}
}

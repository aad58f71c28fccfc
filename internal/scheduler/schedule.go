package scheduler

import (
	"fmt"
	"time"

	"mtm/internal/config"
)

// Schedule is the daily snapshot time: Hour:Minute of the wall clock in
// Location (snapshot_at in timezone).
type Schedule struct {
	Location     *time.Location
	Hour, Minute int
}

// ScheduleOf returns the schedule of a validated configuration.
func ScheduleOf(cfg *config.Config) Schedule {
	return Schedule{Location: cfg.Location, Hour: cfg.SnapshotHour, Minute: cfg.SnapshotMinute}
}

func (s Schedule) String() string {
	return fmt.Sprintf("%02d:%02d %s", s.Hour, s.Minute, s.Location)
}

// On returns the fire time of the calendar date y-m-d. It is computed on
// the date, never by adding 24 h to another fire time:
//   - when the wall time happens twice (the clocks go back), it is the
//     first of the two, so the night runs once;
//   - when it does not happen (the clocks go forward over it), it is the
//     first instant after the gap, the moment of the change.
func (s Schedule) On(y int, m time.Month, d int) time.Time {
	want := time.Date(y, m, d, s.Hour, s.Minute, 0, 0, time.UTC) // the wall time, as a UTC stand-in
	t := time.Date(y, m, d, s.Hour, s.Minute, 0, 0, s.Location)
	if wall(t) == want {
		// The other offset in force around t may give an earlier instant
		// with the same wall time (the first of a repeated hour).
		start, _ := t.ZoneBounds()
		if !start.IsZero() {
			_, off := start.Add(-time.Nanosecond).Zone()
			if alt := want.Add(-time.Duration(off) * time.Second); alt.Before(t) && wall(alt.In(s.Location)) == want {
				return alt.In(s.Location)
			}
		}
		return t
	}
	// want falls in a gap: the change is the start of t's zone when t lies
	// after the gap, its end when before.
	start, end := t.ZoneBounds()
	if wall(t).After(want) {
		return start
	}
	return end
}

// wall returns t's wall clock reading in its own location, as a UTC time.
func wall(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Next returns the first fire time strictly after t.
func (s Schedule) Next(t time.Time) time.Time {
	y, m, d := t.In(s.Location).Date()
	for i := 0; ; i++ {
		if f := s.On(y, m, d+i); f.After(t) {
			return f
		}
	}
}

// Prev returns the last fire time at or before t.
func (s Schedule) Prev(t time.Time) time.Time {
	y, m, d := t.In(s.Location).Date()
	for i := 0; ; i-- {
		if f := s.On(y, m, d+i); !f.After(t) {
			return f
		}
	}
}

// Night names the night of fire time f: its calendar date in Location.
func (s Schedule) Night(f time.Time) string {
	return f.In(s.Location).Format(time.DateOnly)
}

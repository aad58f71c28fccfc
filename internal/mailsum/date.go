package mailsum

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// zones are the zone names resolved by the date parser (RFC 5322 §4.3 and
// common abbreviations), in seconds east of UTC. Other names, and military
// letters, are read as UTC.
var zones = map[string]int{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
	"BST": 1 * 3600, "CET": 1 * 3600, "MET": 1 * 3600, "WEST": 1 * 3600,
	"CEST": 2 * 3600, "MEST": 2 * 3600, "MESZ": 2 * 3600, "MEZ": 1 * 3600,
	"EET": 2 * 3600, "EEST": 3 * 3600, "MSK": 3 * 3600,
	"SGT": 8 * 3600, "HKT": 8 * 3600, "JST": 9 * 3600, "KST": 9 * 3600,
	"AEST": 10 * 3600, "AEDT": 11 * 3600, "NZST": 12 * 3600, "NZDT": 13 * 3600,
}

// parseDate reads a Date: value; it returns the zero time if it cannot.
func parseDate(v string) time.Time {
	v = clean(v)
	if v == "" {
		return time.Time{}
	}
	if t, err := mail.ParseDate(v); err == nil {
		return fixZone(t, v)
	}
	return parseLooseDate(v)
}

// fixZone gives t a fixed zone that does not depend on the local one:
// time.Parse resolves a zone name through time.Local.
func fixZone(t time.Time, v string) time.Time {
	name, off := t.Zone()
	if !hasNumericZone(v) {
		off = zones[strings.ToUpper(name)]
	}
	return mkTime(t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), off)
}

func hasNumericZone(v string) bool {
	for i := 0; i+4 < len(v); i++ {
		if (v[i] == '+' || v[i] == '-') && allDigits(v[i+1:i+5]) {
			return true
		}
	}
	return false
}

func mkTime(y, mo, d, h, mi, s, off int) time.Time {
	loc := time.UTC
	if off != 0 {
		loc = time.FixedZone("", off)
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, loc)
}

// looseDate collects the pieces of a date found in any order.
type looseDate struct {
	nums             []string // bare numbers: day and year
	month            int
	h, mi, s         int
	hasTime, pm, am  bool
	off              int
	hasZone, numZone bool
}

// parseLooseDate reads broken dates: asctime, "2-Sep-2002", ISO dates,
// missing zones, two- and three-digit years, "GMT+0100".
func parseLooseDate(v string) time.Time {
	var d looseDate
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case isLetter(c):
			j := i
			for j < len(v) && isLetter(v[j]) {
				j++
			}
			d.word(v[i:j])
			i = j
		case isDigit(c):
			j := i
			for j < len(v) && (isDigit(v[j]) || v[j] == ':' && j+1 < len(v) && isDigit(v[j+1])) {
				j++
			}
			d.number(v[i:j], i > 0 && (v[i-1] == '+' || v[i-1] == '-') && d.hasTime && (i < 2 || !isDigit(v[i-2])), v[max(i-1, 0)])
			i = j
		default:
			i++
		}
	}
	return d.time()
}

func (d *looseDate) word(w string) {
	u := strings.ToUpper(w)
	switch {
	case u == "AM":
		d.am = true
	case u == "PM":
		d.pm = true
	case len(u) >= 3 && monthIndex(u[:3]) > 0 && d.month == 0 && !d.hasTime:
		d.month = monthIndex(u[:3])
	case d.hasTime && !d.hasZone:
		if off, ok := zones[u]; ok {
			d.off, d.hasZone = off, true
		}
	}
}

func monthIndex(m string) int {
	i := strings.Index("JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC", m)
	if i < 0 || i%3 != 0 {
		return 0
	}
	return i/3 + 1
}

// number handles a digit run; signed tells whether it is a zone offset
// (a sign after the time, not between digits), sign is the byte before it.
func (d *looseDate) number(n string, signed bool, sign byte) {
	switch {
	case signed:
		if off, ok := zoneOffset(n); ok && !d.numZone {
			if sign == '-' {
				off = -off
			}
			d.off, d.hasZone, d.numZone = off, true, true
		}
	case strings.Contains(n, ":"):
		if !d.hasTime {
			d.clock(n)
		}
	case len(d.nums) < 3:
		d.nums = append(d.nums, n)
	}
}

func (d *looseDate) clock(n string) {
	parts := strings.Split(n, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return
	}
	v := make([]int, 3)
	for i := range parts {
		v[i], _ = strconv.Atoi(parts[i])
	}
	d.h, d.mi, d.s, d.hasTime = v[0], v[1], v[2], true
}

// zoneOffset reads "hhmm", "hmm", "hh" or "hh:mm" as seconds.
func zoneOffset(n string) (int, bool) {
	hh, mm := n, "0"
	switch {
	case strings.Contains(n, ":"):
		hh, mm, _ = strings.Cut(n, ":")
	case len(n) == 4 || len(n) == 3:
		hh, mm = n[:len(n)-2], n[len(n)-2:]
	case len(n) > 4:
		return 0, false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h > 14 || m > 59 {
		return 0, false
	}
	return h*3600 + m*60, true
}

func (d *looseDate) time() time.Time {
	var y, mo, day int
	switch {
	case d.month > 0 && len(d.nums) >= 2:
		mo = d.month
		a, _ := strconv.Atoi(d.nums[0])
		b, _ := strconv.Atoi(d.nums[1])
		day, y = a, b
		if len(d.nums[0]) > 2 || a > 31 { // year first
			day, y = b, a
		}
		y = fixYear(y, len(d.nums[1]))
	case d.month == 0 && len(d.nums) >= 3 && len(d.nums[0]) == 4: // ISO
		y, _ = strconv.Atoi(d.nums[0])
		mo, _ = strconv.Atoi(d.nums[1])
		day, _ = strconv.Atoi(d.nums[2])
	default:
		return time.Time{}
	}
	h := d.h
	if d.pm && h < 12 {
		h += 12
	} else if d.am && h == 12 {
		h = 0
	}
	if mo < 1 || mo > 12 || day < 1 || day > 31 || h > 23 || d.mi > 59 || d.s > 60 || y < 1 || y > 9999 {
		return time.Time{}
	}
	return mkTime(y, mo, day, h, d.mi, min(d.s, 59), d.off)
}

// fixYear applies RFC 5322 §4.3 to two- and three-digit years.
func fixYear(y, digits int) int {
	switch {
	case digits <= 2 && y < 50:
		return y + 2000
	case digits <= 3 && y < 1000:
		return y + 1900
	}
	return y
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

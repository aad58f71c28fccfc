package mailsum

import (
	"net/mail"
	"strings"
	"time"
)

// zones are the zone names resolved by the date parser (RFC 5322 §4.3 and
// common abbreviations), in seconds east of UTC. Other names are read as
// UTC.
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

// looseLayouts are common non-RFC 5322 dates, tried with time.Parse when
// net/mail.ParseDate fails.
var looseLayouts = []string{
	time.ANSIC,    // asctime: "Tue Aug 27 16:37:53 2002"
	time.UnixDate, // date(1): "Tue Aug 27 16:37:53 EDT 2002"
	"Mon, 2 Jan 2006 15:04:05",
	"Mon, 2 Jan 2006 15:04:05 GMT-0700",
	"Mon, 2 Jan 2006 3:04:05 PM -0700",
	"2-Jan-2006 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"Monday, January 2, 2006 3:04 PM",
}

// usualLayout is the usual form of a Date: value (RFC 5322 §3.3 with a
// numeric zone and a weekday), tried first: net/mail.ParseDate tries up to
// 48 layouts in turn, the weekday ones last, building an error for each
// that fails; that was a fifth of the header summary's CPU on the
// SpamAssassin corpus.
const usualLayout = "Mon, _2 Jan 2006 15:04:05 -0700"

// parseDate reads a Date: value in the usual layout, then with
// net/mail.ParseDate, then the looseLayouts; it returns the zero time if
// none fits.
func parseDate(v string) time.Time {
	v = clean(v)
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(usualLayout, withoutComment(v)); err == nil {
		return fixZone(t, v)
	}
	if t, err := mail.ParseDate(v); err == nil {
		return fixZone(t, v)
	}
	for _, l := range looseLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return fixZone(t, v)
		}
	}
	return time.Time{}
}

// withoutComment returns v without a trailing comment such as " (CEST)";
// a value with anything after its comment is returned whole.
func withoutComment(v string) string {
	if !strings.HasSuffix(v, ")") {
		return v
	}
	if i := strings.LastIndexByte(v, '('); i > 0 {
		return strings.TrimRight(v[:i], " \t")
	}
	return v
}

// fixZone gives t a fixed zone that does not depend on the local one:
// time.Parse resolves a zone name, and even a numeric offset, through
// time.Local.
func fixZone(t time.Time, v string) time.Time {
	name, off := t.Zone()
	if !hasNumericZone(v) {
		off = zones[strings.ToUpper(name)]
	}
	loc := time.UTC
	if off != 0 {
		loc = time.FixedZone("", off)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
}

// hasNumericZone tells whether v has a "+hhmm" or "-hhmm" zone.
func hasNumericZone(v string) bool {
	for i := 0; i+4 < len(v); i++ {
		if (v[i] == '+' || v[i] == '-') && strings.Trim(v[i+1:i+5], "0123456789") == "" {
			return true
		}
	}
	return false
}

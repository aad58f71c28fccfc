// Package prune owns retention and pruning (docs/design.md, "Retention and
// prune"): the policy that decides which snapshots expire, and the removal,
// planned first and then executed, of what only they referenced: catalog
// rows in one transaction, then blobs under the blob-deletion lock.
//
// It owns no storage of its own; it works through the catalog's
// Maintenance role and the small Blobs interface of prune.go.
package prune

import (
	"strings"
	"time"

	"mtm/internal/catalog"
)

// Policy is the retention policy.
type Policy struct {
	// Days is retention_days: every snapshot of the last Days calendar
	// days is kept, today counting as day 1.
	Days int
	// Location is the configured timezone, which defines days.
	Location *time.Location
	// Listed is the set of accounts (lower-case addresses) of the accounts
	// file. Each keeps its newest committed snapshot even when it is older
	// than the cutoff; other accounts do not.
	Listed map[string]bool
	// AuditDays is [audit] retention_days: audit events older than that
	// many days are deleted; 0 keeps them all.
	AuditDays int
}

// NewPolicy is the policy of retention_days in the configured timezone, for
// the accounts of the accounts file (addresses in any case).
func NewPolicy(days int, loc *time.Location, listed []string) Policy {
	p := Policy{Days: days, Location: loc, Listed: make(map[string]bool, len(listed))}
	for _, a := range listed {
		p.Listed[strings.ToLower(a)] = true
	}
	return p
}

// Cutoff returns the oldest day (YYYY-MM-DD) that is kept at now. It counts
// calendar days, so a DST change does not move it.
func (p Policy) Cutoff(now time.Time) string {
	y, m, d := now.In(p.Location).Date()
	return time.Date(y, m, d-(p.Days-1), 12, 0, 0, 0, p.Location).Format(time.DateOnly)
}

// CutoffTime is the start of the cutoff day.
func (p Policy) CutoffTime(now time.Time) time.Time {
	y, m, d := now.In(p.Location).Date()
	return time.Date(y, m, d-(p.Days-1), 0, 0, 0, 0, p.Location)
}

// Select splits snaps (any order) into those to drop and, among the kept,
// those kept only as their account's last good backup. Running snapshots
// and those an open restore request is from are kept.
func (p Policy) Select(now time.Time, snaps []catalog.SnapshotRef) (drop, lastGood []catalog.SnapshotRef) {
	cutoff := p.Cutoff(now)
	newest := map[catalog.AccountID]catalog.SnapshotID{}
	for _, s := range snaps {
		if s.State == catalog.StateCommitted && s.ID > newest[s.Account] {
			newest[s.Account] = s.ID
		}
	}
	for _, s := range snaps {
		switch {
		case s.Day >= cutoff || s.State == catalog.StateRunning || s.Pinned:
		case s.ID == newest[s.Account] && p.Listed[strings.ToLower(s.Address)]:
			lastGood = append(lastGood, s)
		default:
			drop = append(drop, s)
		}
	}
	return drop, lastGood
}

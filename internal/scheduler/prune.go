package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"mtm/internal/clock"
	"mtm/internal/prune"
)

// Prune is the Pruner of mtm serve: what `mtm prune` does, prune.MakePlan
// followed by Plan.Execute, with the night's accounts file as the listed
// accounts (each keeps its last good snapshot).
type Prune struct {
	Catalog   prune.Catalog
	Blobs     prune.Blobs
	Days      int            // retention_days
	AuditDays int            // [audit] retention_days; 0 keeps every event
	Location  *time.Location // timezone
	Clock     clock.Clock
	// Wait is how long blob deletion waits for running snapshots before it
	// is deferred to the next prune; default prune.DefaultWait.
	Wait   time.Duration
	Logger *slog.Logger
}

// Prune plans and executes a prune.
func (p *Prune) Prune(ctx context.Context, listed []string) error {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := p.Wait
	if wait == 0 {
		wait = prune.DefaultWait
	}
	pol := prune.NewPolicy(p.Days, p.Location, listed)
	pol.AuditDays = p.AuditDays
	plan, err := prune.MakePlan(ctx, p.Catalog, p.Blobs, pol, p.Clock)
	if err != nil {
		return fmt.Errorf("planning prune: %w", err)
	}
	res, err := plan.Execute(ctx, p.Catalog, p.Blobs, prune.Options{Wait: wait, Clock: p.Clock, Logger: log})
	if err != nil {
		return fmt.Errorf("pruning: %w", err)
	}
	log.Info("pruned", "cutoff", plan.Cutoff, "snapshots", res.Expiry.Snapshots, "blobs", res.BlobsDeleted,
		"freed", res.BytesFreed, "audit_events", res.AuditDeleted,
		"packs_rewritten", res.Compacted.PacksRewritten, "disk_freed", res.Compacted.BytesFreed, "deferred", res.Deferred != nil)
	return nil
}

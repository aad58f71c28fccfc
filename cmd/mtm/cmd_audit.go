package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"time"

	"mtm/internal/catalog"
)

func runAudit(ctx context.Context, env *environment, args []string) error {
	if err := subcommandHelp(env, "audit", args); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "export" {
		return fmt.Errorf("%w: audit export --since DATE [--until DATE]", errUsage)
	}
	return runAuditExport(ctx, env, args[1:])
}

// auditLine is one audit event as mtm audit export writes it: a JSON
// object per line.
type auditLine struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Role    string    `json:"role"`
	Client  string    `json:"client,omitempty"`
	Action  string    `json:"action"`
	Account string    `json:"account,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// runAuditExport writes the audit events from --since (a day, or an RFC
// 3339 time) up to --until as JSON lines, oldest first, for an archive or
// a SIEM before the retention deletes them.
func runAuditExport(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "audit export")
	since := fs.String("since", "", "the first day (YYYY-MM-DD, in the configured timezone) or time (RFC 3339) to export (required)")
	until := fs.String("until", "", "the day or time to stop before; default: now")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *since == "" {
		return fmt.Errorf("%w: --since is required", errUsage)
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{})
	if err != nil {
		return err
	}
	st := op.st
	from, err := parseWhen(*since, op.cfg.Location)
	if err != nil {
		return errors.Join(fmt.Errorf("%w: --since: %v", errUsage, err), st.Close())
	}
	var to time.Time
	if *until != "" {
		if to, err = parseWhen(*until, op.cfg.Location); err != nil {
			return errors.Join(fmt.Errorf("%w: --until: %v", errUsage, err), st.Close())
		}
	}
	w := bufio.NewWriter(env.stdout)
	enc := json.NewEncoder(w)
	n := 0
	err = st.Catalog.AuditSince(ctx, from, to, func(ev catalog.AuditEvent) error {
		n++
		return enc.Encode(auditLine{At: ev.At, Actor: ev.Actor, Role: ev.Role, Client: ev.Client, Action: ev.Action,
			Account: ev.Account, Detail: ev.Detail})
	})
	err = errors.Join(err, w.Flush())
	if err == nil {
		// The export is itself an event: who took the log away, and which part.
		err = st.Catalog.Audit(ctx, catalog.AuditEvent{Actor: operatorName(), Role: catalog.RoleOperator, Action: "audit-export",
			Detail: fmt.Sprintf("%d events from %s", n, from.Format(time.RFC3339))})
	}
	return errors.Join(err, st.Close())
}

// parseWhen reads a day (its start, in loc) or an RFC 3339 time.
func parseWhen(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a day (YYYY-MM-DD) nor an RFC 3339 time", s)
	}
	return t, nil
}

// operatorName is who runs an operator's command, for the audit log: the
// system user, or "operator" when it cannot be told.
func operatorName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "operator"
}

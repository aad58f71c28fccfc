package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mtm/internal/config"
	"mtm/internal/jobs"
	"mtm/internal/scheduler"
)

// runJobs lists the jobs of a PostgreSQL catalog, or retries one.
func runJobs(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 && args[0] == "help" {
		return subcommandHelp(env, "jobs", args)
	}
	retry := len(args) > 0 && args[0] == "retry"
	var id int64
	if retry {
		if len(args) < 2 {
			return fmt.Errorf("%w: mtm jobs retry ID", errUsage)
		}
		var err error
		if id, err = strconv.ParseInt(args[1], 10, 64); err != nil || id <= 0 {
			return fmt.Errorf("%w: %q is not a job id", errUsage, args[1])
		}
		args = args[2:]
	}
	fs, cfgPath := newFlags(env, "jobs")
	state := fs.String("state", "", "only jobs in this state: available, scheduled, running, retryable, completed, failed (discarded or cancelled), ...")
	limit := fs.Int("limit", 100, "list at most this many, newest first")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *limit < 1 {
		return fmt.Errorf("%w: --limit must be at least 1", errUsage)
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{})
	if err != nil {
		return err
	}
	defer op.st.Close() //nolint:errcheck // jobs are changed by River's own statements
	if op.st.Catalog.Pool() == nil {
		return errors.New("jobs are kept by a PostgreSQL catalog ([catalog] url); the embedded catalog's " +
			"mtm serve runs its work in process")
	}
	q, err := jobs.New(jobs.Options{Pool: op.st.Catalog.Pool(), Nodes: op.st.Catalog, Cluster: config.Cluster{},
		Schedule: scheduler.ScheduleOf(op.cfg), Clock: op.clk})
	if err != nil {
		return err
	}
	if retry {
		j, err := q.Retry(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "job %d (%s) is %s\n", j.ID, j.Kind, j.State)
		return nil
	}
	list, err := q.List(ctx, *state, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tSTATE\tATTEMPT\tNODE\tSCHEDULED\tARGS\tERROR")
	for _, j := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts,
			j.Node, j.Scheduled.In(op.cfg.Location).Format(time.DateTime), string(j.Args), oneLine(j.Error, 80))
	}
	return w.Flush()
}

// oneLine is s on one line, cut to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

package webadmin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/jobs"
	"mtm/internal/metrics"
)

// Operations is the cluster's work as the operations page shows it: the
// job queue of a PostgreSQL catalog (*jobs.Queue). Nil on the embedded
// catalog, whose one process runs everything.
type Operations interface {
	NightProgress(ctx context.Context) (metrics.NightProgress, error)
	JobCounts(ctx context.Context) ([]metrics.JobCount, error)
	List(ctx context.Context, state string, limit int) ([]jobs.Job, error)
	Retry(ctx context.Context, id int64) (jobs.Job, error)
	Nodes(ctx context.Context) ([]catalog.Node, error)
}

// operationsView is what the page shows.
type operationsView struct {
	Cluster  bool
	Night    metrics.NightProgress
	Late     bool
	Nodes    []catalog.Node
	States   []string
	Counts   []kindCounts
	Failed   []jobs.Job
	Running  []jobs.Job
	Retrying []jobs.Job
}

// kindCounts is a row of the jobs table: a kind's jobs by state.
type kindCounts struct {
	Kind   string
	States []int
}

// jobStates are the columns of the jobs table.
var jobStates = []string{"available", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"}

// operationsPage shows the night across the nodes: for global admins, who
// run mtm; a domain's admin has no business with the cluster.
func (s *Server) operationsPage(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	if !a.Global() {
		http.NotFound(w, r)
		return
	}
	v := operationsView{Cluster: s.o.Operations != nil, States: jobStates}
	if v.Cluster {
		if err := s.operations(r.Context(), &v); err != nil {
			s.pageError(w, r, a, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "operations", page{Title: "admin.title.operations", Nav: "operations", Admin: a, Data: v,
		Flash: flash(r), Refresh: 30})
}

func (s *Server) operations(ctx context.Context, v *operationsView) error {
	ops := s.o.Operations
	var err error
	if v.Night, err = ops.NightProgress(ctx); err != nil {
		return err
	}
	v.Late = v.Night.Open > 0 && v.Night.ProjectedEnd.After(v.Night.WindowEnd)
	if v.Nodes, err = ops.Nodes(ctx); err != nil {
		return err
	}
	counts, err := ops.JobCounts(ctx)
	if err != nil {
		return err
	}
	byKind := map[string][]int{}
	for _, c := range counts {
		if byKind[c.Kind] == nil {
			byKind[c.Kind] = make([]int, len(jobStates))
		}
		for i, st := range jobStates {
			if st == c.State {
				byKind[c.Kind][i] = c.Jobs
			}
		}
	}
	for _, k := range jobs.Kinds {
		if byKind[k] != nil {
			v.Counts = append(v.Counts, kindCounts{Kind: k, States: byKind[k]})
		}
	}
	if v.Failed, err = ops.List(ctx, "failed", 50); err != nil {
		return err
	}
	if v.Running, err = ops.List(ctx, "running", 100); err != nil {
		return err
	}
	v.Retrying, err = ops.List(ctx, "retryable", 50)
	return err
}

// formRetryJob makes a job available again (mtm jobs retry).
func (s *Server) formRetryJob(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !a.Global() || s.o.Operations == nil || err != nil {
		http.NotFound(w, r)
		return
	}
	j, err := s.o.Operations.Retry(r.Context(), id)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	s.audit(r.Context(), catalog.AuditEvent{Actor: a.Email, Role: catalog.RoleAdmin, Client: s.o.ClientIP(r),
		Action: "job-retry", Detail: fmt.Sprintf("job %d (%s)", j.ID, j.Kind)})
	http.Redirect(w, r, "/admin/operations?flash="+flashCode("admin.flash.job_retried"), http.StatusSeeOther)
}

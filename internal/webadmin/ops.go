package webadmin

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"mtm/internal/admin"
	"mtm/internal/catalog"
)

// backupJSON is an account's backup state as the panel shows it.
type backupJSON struct {
	Account       string     `json:"account"`
	LastSuccess   *time.Time `json:"last_success,omitempty"`
	Snapshot      int64      `json:"snapshot,omitempty"`
	Duration      string     `json:"duration,omitempty"`
	Bytes         int64      `json:"bytes"`
	Messages      int64      `json:"messages"`
	LastError     string     `json:"last_error,omitempty"`
	LastErrorAt   *time.Time `json:"last_error_at,omitempty"`
	FailingNights int        `json:"failing_nights"`
	FailingSince  string     `json:"failing_since,omitempty"`
	Failing       bool       `json:"failing"`
	Running       bool       `json:"running"`
}

// backups lists the backup state of the admin's accounts, failing first
// (the catalog's order).
func (s *Server) backups(r *http.Request, a admin.Admin) ([]backupJSON, error) {
	all, err := s.o.Catalog.BackupStatus(r.Context())
	if err != nil {
		return nil, err
	}
	out := []backupJSON{}
	for _, st := range all {
		if !a.Responsible(st.Address) {
			continue
		}
		b := backupJSON{Account: st.Address, LastError: st.LastError, LastErrorAt: optTime(st.LastErrorAt),
			FailingNights: st.FailingNights, FailingSince: st.FailingSince, Failing: st.Failing(), Running: st.Running}
		if st.LastSuccess.ID != 0 {
			b.LastSuccess = optTime(st.LastSuccess.TakenAt)
			b.Snapshot = int64(st.LastSuccess.ID)
			b.Duration = st.Duration.Round(time.Second).String()
			b.Bytes, b.Messages = st.LastSuccess.Bytes, st.LastSuccess.Messages
		}
		out = append(out, b)
	}
	return out, nil
}

func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	list, err := s.backups(r, a)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	s.render(w, r, http.StatusOK, "backups", page{Title: "admin.title.backups", Nav: "backups", Admin: a, Data: list, Refresh: 60})
}

// mailVisible: a global admin sees every email; a domain admin those
// about accounts of their domains, whoever they were sent to (an email
// about no account is the operators', and a global admin's).
func mailVisible(a admin.Admin, e catalog.OutboxEntry) bool {
	if e.Account == "" {
		return a.Global()
	}
	return a.Responsible(e.Account)
}

// hiddenError stands for an SMTP error a domain admin does not see.
const hiddenError = "hidden"

func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	all, err := s.o.Catalog.UndeliveredMail(r.Context(), 500)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	all = slices.DeleteFunc(all, func(e catalog.OutboxEntry) bool { return !mailVisible(a, e) })
	if !a.Global() {
		// The SMTP error names the mail server and its network: the
		// operators'. A domain admin reads that it is not delivered yet
		// (the page says so for a row with an error it does not show).
		for i := range all {
			if all[i].LastError != "" {
				all[i].LastError = hiddenError
			}
		}
	}
	s.render(w, r, http.StatusOK, "outbox", page{Title: "admin.title.outbox", Nav: "outbox", Admin: a, Data: all, Flash: flash(r)})
}

func (s *Server) formRequeue(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	e, err := s.o.Catalog.OutboxMail(r.Context(), id)
	if err != nil || !mailVisible(a, e) {
		http.NotFound(w, r)
		return
	}
	if err := s.o.Catalog.RequeueMail(r.Context(), id); err != nil {
		s.pageError(w, r, a, err)
		return
	}
	s.audit(r.Context(), catalog.AuditEvent{Actor: a.Email, Role: catalog.RoleAdmin, Client: s.o.ClientIP(r),
		Action: "email-requeue", Account: e.To, Detail: e.Subject})
	http.Redirect(w, r, "/admin/outbox?flash="+flashCode("admin.flash.requeued"), http.StatusSeeOther)
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	events, err := s.o.Catalog.AuditLog(r.Context(), a.Domains, 500)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	s.render(w, r, http.StatusOK, "audit", page{Title: "admin.title.audit", Nav: "audit", Admin: a, Data: events})
}

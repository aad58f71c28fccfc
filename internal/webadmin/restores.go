package webadmin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/notify"
	"mtm/internal/restore"
	"mtm/internal/restoreflow"
	"mtm/internal/web"
)

// restoreJSON is a request as the API shows it.
type restoreJSON struct {
	ID          int64                `json:"id"`
	Account     string               `json:"account"`
	Snapshot    int64                `json:"snapshot"`
	Day         string               `json:"day"`
	Folders     []string             `json:"folders"`
	Messages    []int64              `json:"messages,omitempty"` // a selection of the snapshot's messages
	Target      string               `json:"target"`
	Status      string               `json:"status"`
	RequestedBy string               `json:"requested_by"`
	RequestedAt time.Time            `json:"requested_at"`
	DecidedBy   string               `json:"decided_by,omitempty"`
	DecidedAt   *time.Time           `json:"decided_at,omitempty"`
	Reason      string               `json:"reason,omitempty"`
	StartedAt   *time.Time           `json:"started_at,omitempty"`
	FinishedAt  *time.Time           `json:"finished_at,omitempty"`
	Preview     []notify.FolderCount `json:"preview"`
	Result      *restore.Result      `json:"result,omitempty"` // progress while running
	Error       string               `json:"error,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toJSON(r catalog.RestoreRequest) restoreJSON {
	j := restoreJSON{ID: int64(r.ID), Account: r.Address, Snapshot: int64(r.Snapshot), Day: r.Day,
		Folders: nonNil(r.Folders), Messages: r.Messages, Target: r.Target, Status: r.Status, RequestedBy: r.RequestedBy,
		RequestedAt: r.RequestedAt, DecidedBy: r.DecidedBy, DecidedAt: optTime(r.DecidedAt), Reason: r.Reason,
		StartedAt: optTime(r.StartedAt), FinishedAt: optTime(r.FinishedAt), Error: r.Error, Preview: []notify.FolderCount{}}
	if len(r.Preview) > 0 {
		_ = json.Unmarshal(r.Preview, &j.Preview) // written by the flow; a bad one shows as empty
	}
	if len(r.Result) > 0 {
		var res restore.Result
		if json.Unmarshal(r.Result, &res) == nil {
			j.Result = &res
		}
	}
	return j
}

// visible lists the requests the admin is responsible for: pending first
// (oldest first), then the others (newest first).
func (s *Server) visible(r *http.Request, a admin.Admin, status string) ([]catalog.RestoreRequest, error) {
	all, err := s.o.Catalog.Restores(r.Context(), 0, status)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(x catalog.RestoreRequest) bool { return !a.Responsible(x.Address) })
	slices.SortStableFunc(all, func(x, y catalog.RestoreRequest) int {
		xp, yp := x.Status == catalog.RestorePending, y.Status == catalog.RestorePending
		switch {
		case xp && !yp:
			return -1
		case yp && !xp:
			return 1
		case xp && yp:
			return int(x.ID - y.ID)
		}
		return int(y.ID - x.ID)
	})
	return all, nil
}

var statuses = []string{"", catalog.RestorePending, catalog.RestoreRunning, catalog.RestoreDone,
	catalog.RestoreFailed, catalog.RestoreRejected}

func (s *Server) apiRestores(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	status := r.URL.Query().Get("status")
	if !slices.Contains(statuses, status) {
		web.WriteError(w, http.StatusBadRequest, "unknown status")
		return
	}
	list, err := s.visible(r, a, status)
	if err != nil {
		s.internal(w, err)
		return
	}
	out := make([]restoreJSON, 0, len(list))
	for _, x := range list {
		out = append(out, toJSON(x))
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// request finds the {id} of the path among the admin's requests; others
// answer 404 whether they exist or not.
func (s *Server) request(w http.ResponseWriter, r *http.Request, a admin.Admin) (catalog.RestoreRequest, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		web.WriteError(w, http.StatusNotFound, "not found")
		return catalog.RestoreRequest{}, false
	}
	req, err := s.o.Flow.Get(r.Context(), a, catalog.RestoreID(id))
	if errors.Is(err, restoreflow.ErrNotFound) {
		web.WriteError(w, http.StatusNotFound, "not found")
		return req, false
	}
	if err != nil {
		s.internal(w, err)
		return req, false
	}
	return req, true
}

func (s *Server) apiRestore(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	if req, ok := s.request(w, r, a); ok {
		web.WriteJSON(w, http.StatusOK, toJSON(req))
	}
}

func (s *Server) actor(r *http.Request, a admin.Admin) restoreflow.Actor {
	return restoreflow.Actor{Email: a.Email, Role: catalog.RoleAdmin, Client: s.o.ClientIP(r)}
}

func (s *Server) apiConfirm(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	req, ok := s.request(w, r, a)
	if !ok {
		return
	}
	if wholeAccount(req) && req.Status == catalog.RestorePending {
		var body struct {
			Reauth string `json:"reauth"` // the password or a code: a whole account asks again
		}
		if r.ContentLength != 0 {
			_ = json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&body)
		}
		if ok, err := s.reauthenticated(r, a, body.Reauth); err != nil || !ok {
			web.WriteJSON(w, http.StatusForbidden, map[string]string{"code": "reauth",
				"error": "confirming the restore of a whole account needs your password or a code again (\"reauth\")"})
			return
		}
	}
	s.decided(w, r, a, req.ID, s.o.Flow.Confirm(r.Context(), a, s.actor(r, a), req.ID))
}

func (s *Server) apiReject(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	req, ok := s.request(w, r, a)
	if !ok {
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&body); err != nil {
			web.WriteError(w, http.StatusBadRequest, "bad request")
			return
		}
	}
	reason, err := cleanReason(body.Reason)
	if err != nil {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.decided(w, r, a, req.ID, s.o.Flow.Reject(r.Context(), a, s.actor(r, a), req.ID, reason))
}

// cleanReason keeps a rejection reason printable and bounded.
func cleanReason(s string) (string, error) {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) > 2000 {
		return "", errors.New("the reason is longer than 2,000 bytes")
	}
	return s, nil
}

// decided answers a confirm or reject: the request as it is now, or 409 if
// it had already been decided.
func (s *Server) decided(w http.ResponseWriter, r *http.Request, a admin.Admin, id catalog.RestoreID, err error) {
	switch {
	case errors.Is(err, catalog.ErrRestoreState):
		web.WriteError(w, http.StatusConflict, "the request is no longer pending")
		return
	case err != nil:
		s.internal(w, err)
		return
	}
	req, err := s.o.Flow.Get(r.Context(), a, id)
	if err != nil {
		s.internal(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, toJSON(req))
}

func (s *Server) apiBackups(w http.ResponseWriter, r *http.Request, a admin.Admin) {
	list, err := s.backups(r, a)
	if err != nil {
		s.internal(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, list)
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	s.o.Logger.Error("admin panel", "err", err)
	web.WriteError(w, http.StatusInternalServerError, "internal error")
}

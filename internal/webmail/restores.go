package webmail

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/restore"
	"mtm/internal/restoreflow"
	"mtm/internal/web"
)

// Restores is what the webmail needs of the restore flow.
type Restores interface {
	Preview(ctx context.Context, in restoreflow.RequestInput) (*restore.Plan, error)
	Request(ctx context.Context, who restoreflow.Actor, in restoreflow.RequestInput) (catalog.RestoreRequest, error)
	Mine(ctx context.Context, account string) ([]catalog.RestoreRequest, error)
}

// restoreInput is the body of a preview or a request.
type restoreInput struct {
	Snapshot int64    `json:"snapshot"`
	Folders  []string `json:"folders"`
	Messages []int64  `json:"messages"` // a selection of the snapshot's messages (message ids of that day)
	Target   string   `json:"target"`
}

// maxSelected bounds a request's selection (a day's deleted messages fit).
const maxSelected = 100000

func (s *Server) readRestoreInput(w http.ResponseWriter, r *http.Request, u who) (restoreflow.RequestInput, bool) {
	var in restoreInput
	if !web.ReadJSON(w, r, &in, 64<<10) {
		return restoreflow.RequestInput{}, false
	}
	if in.Target == "" {
		in.Target = restore.TargetOriginal
	}
	if in.Target != restore.TargetOriginal && in.Target != restore.TargetSeparate {
		s.apiError(w, r, http.StatusBadRequest, "api.bad_target")
		return restoreflow.RequestInput{}, false
	}
	if len(in.Folders) > 1000 {
		s.apiError(w, r, http.StatusBadRequest, "api.too_many_folders")
		return restoreflow.RequestInput{}, false
	}
	if len(in.Messages) > maxSelected {
		s.apiError(w, r, http.StatusBadRequest, "api.too_many_messages")
		return restoreflow.RequestInput{}, false
	}
	if u.acct == 0 {
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return restoreflow.RequestInput{}, false
	}
	return restoreflow.RequestInput{Account: u.address, Snapshot: catalog.SnapshotID(in.Snapshot),
		Folders: in.Folders, Messages: in.Messages, Target: in.Target}, true
}

// previewJSON is what a restore would bring back now, per folder.
type previewJSON struct {
	Folders []previewFolder `json:"folders"`
	Total   int             `json:"total"`
	Bytes   int64           `json:"bytes"`
	Present int             `json:"present"`
	Moved   int             `json:"moved"`
}

type previewFolder struct {
	Folder    string `json:"folder"`
	ToRestore int    `json:"to_restore"`
	Present   int    `json:"present"`
	Moved     int    `json:"moved"`
	Recreate  bool   `json:"recreate"`
}

// onePreview marks u's session as making a preview, or answers 429 when
// it already is: each preview logs in to the live server, and a session
// needs one at a time. done unmarks it.
func (s *Server) onePreview(w http.ResponseWriter, r *http.Request, u who) (done func(), ok bool) {
	if _, busy := s.previewing.LoadOrStore(u.session.ID, struct{}{}); busy {
		web.SetRetryAfter(w, 2*time.Second)
		s.apiError(w, r, http.StatusTooManyRequests, "api.preview_running")
		return nil, false
	}
	return func() { s.previewing.Delete(u.session.ID) }, true
}

func (s *Server) previewRestore(w http.ResponseWriter, r *http.Request, u who) {
	in, ok := s.readRestoreInput(w, r, u)
	if !ok {
		return
	}
	done, ok := s.onePreview(w, r, u)
	if !ok {
		return
	}
	defer done()
	plan, err := s.opts.Restores.Preview(r.Context(), in)
	if err != nil {
		s.restoreFail(w, r, err)
		return
	}
	out := previewJSON{Folders: []previewFolder{}}
	for _, f := range plan.Folders {
		out.Folders = append(out.Folders, previewFolder{Folder: f.Target, ToRestore: len(f.Append), Present: f.Present,
			Moved: f.Elsewhere, Recreate: f.Create})
	}
	out.Total, out.Present, out.Moved, _, out.Bytes = plan.Totals()
	web.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) requestRestore(w http.ResponseWriter, r *http.Request, u who) {
	in, ok := s.readRestoreInput(w, r, u)
	if !ok {
		return
	}
	done, ok := s.onePreview(w, r, u) // a request makes its preview
	if !ok {
		return
	}
	defer done()
	req, err := s.opts.Restores.Request(r.Context(), restoreflow.Actor{Email: u.address, Role: catalog.RoleUser,
		Client: s.clientIP(r)}, in)
	if err != nil {
		s.restoreFail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, userRestore(req))
}

func (s *Server) listRestores(w http.ResponseWriter, r *http.Request, u who) {
	list, err := s.opts.Restores.Mine(r.Context(), u.address)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]userRestoreJSON, 0, len(list))
	for _, x := range list {
		out = append(out, userRestore(x))
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// restoreFail maps the flow's errors: an open request is a conflict, an
// unknown snapshot or folder is not found; the IMAP server unreachable is
// a temporary failure.
func (s *Server) restoreFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, catalog.ErrRestoreOpen):
		s.apiError(w, r, http.StatusConflict, "api.restore_open")
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, restore.ErrNoSuchFolder):
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
	case errors.Is(err, restore.ErrNotInSnapshot):
		s.apiError(w, r, http.StatusBadRequest, "api.not_in_backup")
	case errors.Is(err, restoreflow.ErrBusy):
		web.SetRetryAfter(w, 5*time.Second)
		s.apiError(w, r, http.StatusServiceUnavailable, "api.previews_busy")
	default:
		if r.Context().Err() == nil {
			s.log.Error("restore request", "err", err)
		}
		s.apiError(w, r, http.StatusServiceUnavailable, "api.mail_unavailable")
	}
}

// userRestoreJSON is a request as its user sees it: no admin's identity.
type userRestoreJSON struct {
	ID          int64           `json:"id"`
	Snapshot    int64           `json:"snapshot"`
	Day         string          `json:"day"`
	Folders     []string        `json:"folders"`
	Messages    int             `json:"messages,omitempty"` // how many messages were selected, for a selection
	Target      string          `json:"target"`
	Status      string          `json:"status"`
	RequestedAt time.Time       `json:"requested_at"`
	DecidedAt   *time.Time      `json:"decided_at,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	Preview     json.RawMessage `json:"preview,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Error       string          `json:"error,omitempty"`
}

func userRestore(r catalog.RestoreRequest) userRestoreJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	folders := r.Folders
	if folders == nil {
		folders = []string{}
	}
	return userRestoreJSON{ID: int64(r.ID), Snapshot: int64(r.Snapshot), Day: r.Day, Folders: folders, Messages: len(r.Messages), Target: r.Target,
		Status: r.Status, RequestedAt: r.RequestedAt, DecidedAt: opt(r.DecidedAt), Reason: r.Reason,
		FinishedAt: opt(r.FinishedAt), Preview: r.Preview, Result: r.Result, Error: r.Error}
}

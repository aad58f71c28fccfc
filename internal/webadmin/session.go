package webadmin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/web"
	"mtm/internal/webauth"
)

// cookieName is the admin session's cookie, distinct from the webmail's.
const cookieName = "mtm_admin"

// errLoginFailed is the one message every failed login gets.
const errLoginFailed = "invalid email or password"

var errBadLogin = webauth.ErrBadCredentials

// authenticate checks an admin's email and password, throttled per email
// and per client, and records the attempt in the audit log.
func (s *Server) authenticate(r *http.Request, email, password, client string) (admin.Admin, error) {
	ctx := r.Context()
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 254 || len(password) > 1024 {
		return admin.Admin{}, errBadLogin
	}
	var row catalog.AdminRow
	err := s.gate.Attempt(r, email, client, func() (err error) {
		row, err = s.check(ctx, email, password)
		if errors.Is(err, errBadLogin) {
			s.audit(ctx, catalog.AuditEvent{Actor: email, Role: catalog.RoleAdmin, Client: client, Action: "admin-login-failed"})
		}
		return err
	})
	if err != nil {
		return admin.Admin{}, err
	}
	s.audit(ctx, catalog.AuditEvent{Actor: email, Role: catalog.RoleAdmin, Client: client, Action: "admin-login"})
	return admin.Admin{Email: row.Email, Domains: row.Domains}, nil
}

// check verifies an admin's password against the catalog's hash (or, for
// an unknown email, against a dummy hash, to spend the same time).
func (s *Server) check(ctx context.Context, email, password string) (catalog.AdminRow, error) {
	row, err := s.o.Catalog.Admin(ctx, email)
	hash := row.PasswordHash
	if err != nil {
		if !errors.Is(err, catalog.ErrNotFound) {
			return catalog.AdminRow{}, err
		}
		hash = s.dummy // spend the same time as for a real admin
	}
	select {
	case s.verify <- struct{}{}:
	case <-ctx.Done():
		return catalog.AdminRow{}, ctx.Err()
	}
	ok, verr := admin.Verify(hash, password)
	<-s.verify
	if err != nil || !ok || verr != nil {
		return catalog.AdminRow{}, errBadLogin
	}
	return row, nil
}

func (s *Server) audit(ctx context.Context, ev catalog.AuditEvent) {
	if err := s.o.Catalog.Audit(ctx, ev); err != nil {
		s.o.Logger.Error("recording an audit event", "action", ev.Action, "err", err)
	}
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, a admin.Admin) error {
	_, err := s.gate.Start(w, r, a.Email)
	return err
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) { s.gate.End(w, r) }

// current returns the admin of the request's session, if it is live and the
// admin still exists (a removed admin's sessions end at once).
func (s *Server) current(r *http.Request) (admin.Admin, bool) {
	ses, ok := s.gate.Session(r)
	if !ok {
		return admin.Admin{}, false
	}
	row, err := s.o.Catalog.Admin(r.Context(), ses.Account)
	if err != nil {
		s.gate.Drop(r.Context(), ses.ID)
		return admin.Admin{}, false
	}
	return admin.Admin{Email: row.Email, Domains: row.Domains}, true
}

type adminHandler func(w http.ResponseWriter, r *http.Request, a admin.Admin)

func (s *Server) withAdminAPI(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.current(r)
		if !ok {
			web.WriteError(w, http.StatusUnauthorized, "log in first")
			return
		}
		h(w, r, a)
	}
}

func (s *Server) withAdminPage(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.current(r)
		if !ok {
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(localPath(r.URL.Path)), http.StatusSeeOther)
			return
		}
		h(w, r, a)
	}
}

// localPath keeps a redirect target on this site's panel.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/admin") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/admin/restores"
	}
	return p
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Code     string `json:"code"` // the second factor's code, or a recovery code
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !web.ReadJSON(w, r, &c, 8<<10) {
		return
	}
	a, err := s.authenticate(r, c.Email, c.Password, s.o.ClientIP(r))
	if !s.loginError(w, err) {
		return
	}
	row, err := s.o.Catalog.Admin(r.Context(), a.Email)
	switch {
	case err != nil:
		s.loginError(w, err)
		return
	case row.TOTPSecret != "":
		if !s.loginError(w, s.secondStep(r, a.Email, c.Code)) {
			return
		}
	case s.o.RequireSecondFactor:
		web.WriteJSON(w, http.StatusForbidden, map[string]string{"code": "setup_2fa",
			"error": "set up your second factor in the admin panel first (log in there once)"})
		return
	}
	if err := s.startSession(w, r, a); err != nil {
		s.o.Logger.Error("admin login: starting the session", "err", err)
		web.WriteError(w, http.StatusServiceUnavailable, "the session cannot be started; try again later")
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"email": a.Email, "domains": nonNil(a.Domains)})
}

// loginError answers a failed login and tells whether it succeeded.
func (s *Server) loginError(w http.ResponseWriter, err error) bool {
	var th webauth.ThrottledError
	switch {
	case err == nil:
		return true
	case errors.As(err, &th):
		web.SetRetryAfter(w, th.Wait)
		web.WriteError(w, http.StatusTooManyRequests, th.Error())
	case errors.Is(err, errBadLogin):
		web.WriteError(w, http.StatusUnauthorized, errLoginFailed)
	default:
		s.o.Logger.Error("admin login", "err", err)
		web.WriteError(w, http.StatusInternalServerError, "internal error")
	}
	return false
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	s.endSession(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

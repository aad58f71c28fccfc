package webmail

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"

	"mtm/internal/catalog"
	"mtm/internal/web"
	"mtm/internal/webauth"
)

const cookieName = "mtm_session"

// who is the account a request acts for.
type who struct {
	session webauth.Session
	address string
	acct    catalog.AccountID // 0: the account has no backups
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !web.ReadJSON(w, r, &c, 8<<10) {
		return
	}
	address := strings.ToLower(strings.TrimSpace(c.Email))
	client := s.clientIP(r)
	err := s.gate.Attempt(r, address, client, func() error {
		if !webauth.Plausible(address, c.Password, s.opts.MasterSeparator) {
			return webauth.ErrBadCredentials
		}
		err := s.checker.Check(r.Context(), address, c.Password)
		if errors.Is(err, webauth.ErrBadCredentials) {
			s.log.Info("webmail login failed", "account", address, "client", client)
			s.audit(r.Context(), catalog.AuditEvent{Actor: address, Role: catalog.RoleUser, Client: client,
				Action: "login-failed", Account: address})
		}
		return err
	})
	var th webauth.ThrottledError
	switch {
	case errors.As(err, &th):
		web.SetRetryAfter(w, th.Wait)
		s.apiError(w, r, http.StatusTooManyRequests, "api.throttled", "Count", int(math.Ceil(th.Wait.Seconds())))
		return
	case errors.Is(err, webauth.ErrBadCredentials):
		s.apiError(w, r, http.StatusUnauthorized, "api.login_failed")
		return
	case err != nil:
		s.log.Error("webmail login: cannot check the password", "account", address, "err", err)
		s.apiError(w, r, http.StatusServiceUnavailable, "api.mail_unavailable")
		return
	}
	s.audit(r.Context(), catalog.AuditEvent{Actor: address, Role: catalog.RoleUser, Client: client,
		Action: "login", Account: address})
	if _, err := s.gate.Start(w, r, address); err != nil {
		s.log.Error("webmail login: starting the session", "account", address, "err", err)
		s.apiError(w, r, http.StatusServiceUnavailable, "api.session_unavailable")
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"email": address})
}

// clientIP is the client's address, through the trusted proxies if the
// server was given a way to read them.
func (s *Server) clientIP(r *http.Request) string {
	if s.opts.ClientIP != nil {
		return s.opts.ClientIP(r)
	}
	return web.Proxies{}.ClientAddr(r)
}

// audit records an event if the server was given an audit log.
func (s *Server) audit(ctx context.Context, ev catalog.AuditEvent) {
	if s.opts.Audit == nil {
		return
	}
	if err := s.opts.Audit(ctx, ev); err != nil {
		s.log.Error("recording an audit event", "action", ev.Action, "err", err)
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.gate.End(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// session returns the request's live session.
func (s *Server) session(r *http.Request) (webauth.Session, bool) {
	return s.gate.Session(r)
}

// withAccount resolves the session to its account, or answers 401.
func (s *Server) withAccount(h func(http.ResponseWriter, *http.Request, who)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ses, ok := s.session(r)
		if !ok {
			s.apiError(w, r, http.StatusUnauthorized, "api.not_logged_in")
			return
		}
		u := who{session: ses, address: ses.Account}
		acct, err := s.opts.Catalog.LookupAccount(r.Context(), ses.Account)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			u.acct = acct
		}
		h(w, r, u)
	}
}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, u who) {
	web.WriteJSON(w, http.StatusOK, map[string]string{"email": u.address})
}

// fail answers 404 for what is not found (or not the account's) and 500
// for the rest, logging it.
// apiError answers a JSON error: "error" is message id in the page's
// language (the scripts send theirs as Accept-Language), for the user;
// "code" is the id without "api.", the same in every language, for
// programs.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, status int, id string, pairs ...any) {
	l := s.lang(w, r, "")
	web.WriteJSON(w, status, map[string]string{"error": l.T(id, pairs...), "code": strings.TrimPrefix(id, "api.")})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, catalog.ErrNotFound) {
		s.apiError(w, r, http.StatusNotFound, "api.not_found")
		return
	}
	if r.Context().Err() == nil {
		s.log.Error("webmail", "path", r.URL.Path, "err", err)
	}
	s.apiError(w, r, http.StatusInternalServerError, "api.internal")
}

package imapd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mtm/internal/catalog"
	"mtm/internal/webauth"
)

// session is one client connection.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	ctx    context.Context // ends with the connection
	cancel context.CancelFunc
	client string // the client's IP address

	address string            // logged in as; "" before
	acct    catalog.AccountID // 0: the account has no backups
	sel     *selected
	days    map[catalog.SnapshotID][]catalog.Folder // the kept days' folders read so far
	copyBuf []byte                                  // streams BODY[]; nil until the first
}

var _ interface {
	imapserver.SessionNamespace
	imapserver.SessionMove
	imapserver.SessionID
} = (*session)(nil)

// readOnly is the answer to every command that would change something.
var readOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
	Text: "This is a read-only backup: copy the message into your own mailbox instead"}

// errGone is what a command gets after the server said BYE because the
// selected day is no longer kept.
var errGone = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
	Text: "This day is no longer kept"}

func noSuchFolder(name string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: fmt.Sprintf("No folder %q in the kept days", name)}
}

// serverError is a failure of ours: logged, and the client is told to try
// again later, never what failed.
func (s *session) serverError(what string, err error) error {
	s.srv.log.Error("imap: "+what, "account", s.address, "err", err)
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
		Text: "The backup cannot be read right now; try again later"}
}

func (s *session) Close() error {
	s.cancel()
	if s.address != "" {
		s.srv.releaseUser(s.address)
	}
	return nil
}

func (s *session) Login(username, password string) error {
	srv := s.srv
	address := strings.ToLower(strings.TrimSpace(username))
	err := srv.gate.Try(s.ctx, address, s.client, false, func() error {
		if !webauth.Plausible(address, password, srv.o.MasterSeparator) {
			return webauth.ErrBadCredentials
		}
		err := srv.checker.Check(s.ctx, address, password)
		if errors.Is(err, webauth.ErrBadCredentials) {
			srv.log.Info("imap login failed", "account", address, "client", s.client)
			srv.audit(s.ctx, catalog.AuditEvent{Actor: address, Role: catalog.RoleUser, Client: s.client,
				Action: "imap-login-failed", Account: address})
		}
		return err
	})
	var th webauth.ThrottledError
	switch {
	case errors.As(err, &th):
		srv.metrics.logins.WithLabelValues(loginThrottled).Inc()
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: fmt.Sprintf("Too many failed logins: try again in %d seconds", int(th.Wait.Round(time.Second)/time.Second)+1)}
	case errors.Is(err, webauth.ErrBadCredentials):
		srv.metrics.logins.WithLabelValues(loginFailed).Inc()
		return imapserver.ErrAuthFailed
	case err != nil:
		srv.metrics.logins.WithLabelValues(loginError).Inc()
		srv.log.Error("imap login: cannot check the password", "account", address, "err", err)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
			Text: "The mail server cannot check the password right now; try again later"}
	}
	acct, err := srv.o.Catalog.LookupAccount(s.ctx, address)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		acct = 0 // no backups yet: an empty tree
	case err != nil:
		srv.metrics.logins.WithLabelValues(loginError).Inc()
		return s.serverError("login: looking up the account", err)
	}
	if !srv.takeUser(address) {
		srv.metrics.logins.WithLabelValues(loginLimited).Inc()
		srv.log.Warn("imap login refused: too many connections of the account", "account", address,
			"max", srv.o.MaxConnectionsPerUser)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit,
			Text: fmt.Sprintf("Too many connections to this account's backup (%d at most)", srv.o.MaxConnectionsPerUser)}
	}
	srv.metrics.logins.WithLabelValues(loginOK).Inc()
	srv.audit(s.ctx, catalog.AuditEvent{Actor: address, Role: catalog.RoleUser, Client: s.client,
		Action: "imap-login", Account: address})
	s.address, s.acct = address, acct
	return nil
}

func (srv *Server) audit(ctx context.Context, ev catalog.AuditEvent) {
	if srv.o.Audit == nil {
		return
	}
	if err := srv.o.Audit(ctx, ev); err != nil {
		srv.log.Error("recording an audit event", "action", ev.Action, "err", err)
	}
}

// ID answers who the server is (RFC 2971).
func (s *session) ID(*imap.IDData) *imap.IDData {
	return &imap.IDData{Name: "Mail Time Machine", Vendor: "Mail Time Machine"}
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	t, err := s.tree()
	if err != nil {
		return nil, err
	}
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: t.delim}}}, nil
}

// The writes: all refused, nothing changed.

func (s *session) Create(string, *imap.CreateOptions) error              { return readOnly }
func (s *session) Delete(string) error                                   { return readOnly }
func (s *session) Rename(string, string, *imap.RenameOptions) error      { return readOnly }
func (s *session) Unsubscribe(string) error                              { return readOnly }
func (s *session) Expunge(*imapserver.ExpungeWriter, *imap.UIDSet) error { return readOnly }
func (s *session) Store(*imapserver.FetchWriter, imap.NumSet, *imap.StoreFlags, *imap.StoreOptions) error {
	return readOnly
}
func (s *session) Copy(imap.NumSet, string) (*imap.CopyData, error)       { return nil, readOnly }
func (s *session) Move(*imapserver.MoveWriter, imap.NumSet, string) error { return readOnly }
func (s *session) Append(string, imap.LiteralReader, *imap.AppendOptions) (*imap.AppendData, error) {
	return nil, readOnly
}

// Subscribe of a folder that exists answers OK: every folder is
// subscribed already. Of one that does not, NONEXISTENT.
func (s *session) Subscribe(name string) error {
	t, err := s.tree()
	if err != nil {
		return err
	}
	if _, ok := t.find(name); !ok {
		return noSuchFolder(name)
	}
	return nil
}

// Poll checks, at most every pollEvery, that the selected day is still
// kept; when it is not, the client is told BYE.
func (s *session) Poll(*imapserver.UpdateWriter, bool) error {
	return s.stillKept(false)
}

// Idle waits until the client ends it: nothing ever changes in a day.
// A day pruned meanwhile is noticed at the client's next command.
func (s *session) Idle(_ *imapserver.UpdateWriter, stop <-chan struct{}) error {
	select {
	case <-stop:
	case <-s.ctx.Done():
	}
	return nil
}

// pollEvery is how often a selected day is checked to be still kept.
const pollEvery = 5 * time.Second

// stillKept says BYE, and returns errGone, when the selected day is no
// longer kept. Unless force, it asks the catalog at most every pollEvery.
func (s *session) stillKept(force bool) error {
	sel := s.sel
	if sel == nil || sel.snap.ID == 0 {
		return nil
	}
	now := s.srv.o.Clock.Now()
	if !force && now.Sub(sel.checked) < pollEvery {
		return nil
	}
	kept, err := s.kept(sel.snap.ID)
	if err != nil {
		return s.serverError("checking the selected day", err)
	}
	if !kept {
		s.srv.log.Info("imap: the selected day is no longer kept", "account", s.address, "day", sel.snap.Day)
		_ = s.conn.Bye("This day is no longer kept: list the folders again")
		return errGone
	}
	sel.checked = now
	return nil
}

// kept tells whether snapshot id is still one of the account's kept days.
func (s *session) kept(id catalog.SnapshotID) (bool, error) {
	snaps, err := s.srv.o.Catalog.Snapshots(s.ctx, s.acct)
	if err != nil {
		return false, err
	}
	for _, sn := range catalog.KeptDays(snaps, s.srv.o.RetentionDays) {
		if sn.ID == id {
			return true, nil
		}
	}
	return false, nil
}

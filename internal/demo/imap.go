package demo

import (
	"errors"
	"fmt"
	"log"
	"net"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPServer is an in-memory IMAP server on a loopback port. It offers
// what the snapshot engine and the restore use: IMAP4rev1 with NAMESPACE,
// UIDPLUS (APPENDUID), LIST-EXTENDED and LITERAL+. It has no CONDSTORE, no
// special-use attributes and no master user: every account logs in with its
// own password. Folders live as long as the server.
type IMAPServer struct {
	addr string
	srv  *imapserver.Server
	done chan error
}

// StartIMAP starts a server on a free loopback port for the accounts of
// passwords (address → password).
func StartIMAP(passwords map[string]string) (*IMAPServer, error) {
	users := make(map[string]*imapmemserver.User, len(passwords))
	for addr, pw := range passwords {
		users[strings.ToLower(addr)] = imapmemserver.NewUser(strings.ToLower(addr), pw)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("imap listener: %w", err)
	}
	s := &IMAPServer{addr: ln.Addr().String(), done: make(chan error, 1)}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{users: users}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {},
			imap.CapListExtended: {}, imap.CapLiteralPlus: {},
		},
		Logger:       log.New(discard{}, "", 0),
		InsecureAuth: true, // loopback only
	})
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the server's host:port.
func (s *IMAPServer) Addr() string { return s.addr }

// Close stops the server and drops every connection.
func (s *IMAPServer) Close() error {
	err := s.srv.Close()
	if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, net.ErrClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("stopping the imap server: %w", err)
	}
	return nil
}

// imapSession is memserver's user session with the logins of the demo's
// accounts and a personal namespace.
type imapSession struct {
	*imapmemserver.UserSession // nil until logged in
	users                      map[string]*imapmemserver.User
}

func (s *imapSession) Login(username, password string) error {
	u := s.users[strings.ToLower(username)]
	if u == nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(strings.ToLower(username), password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

func (s *imapSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

// Namespace answers NAMESPACE (RFC 2342): one personal namespace, no
// other users' or shared folders.
func (s *imapSession) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

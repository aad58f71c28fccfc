package dovecot

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// AddUser creates the account address with the given password, or changes
// its password if it exists. Logins see it at once. Dovecot lower-cases user
// names, so the address is stored lower-cased. A failure fails the test.
func (s *Server) AddUser(t testing.TB, address, password string) {
	t.Helper()
	if err := s.inst.AddUser(address, password); err != nil {
		t.Fatal(err)
	}
}

// Dial returns a client logged in as address through the master user. It
// is logged out when the test ends. A failed login fails the test.
func (s *Server) Dial(t testing.TB, address string) *imapclient.Client {
	t.Helper()
	c, err := s.login(address)
	if err != nil {
		t.Fatalf("dovecot: dial %s as %s: %v", s.Addr, address, err)
	}
	t.Cleanup(func() { closeClient(c) })
	return c
}

func (s *Server) login(address string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(s.Addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}})
	if err != nil {
		return nil, err
	}
	if err := c.Login(address+"*"+s.MasterUser, s.MasterPassword).Wait(); err != nil {
		closeClient(c)
		return nil, fmt.Errorf("login: %w", err)
	}
	return c, nil
}

// closeClient logs out and closes. Errors are ignored: the test may have
// closed the client itself, or stopped the server.
func closeClient(c *imapclient.Client) {
	_ = c.Logout().Wait()
	_ = c.Close()
}

// Doveadm runs doveadm with the instance's configuration and returns its
// standard output. A failure fails the test.
func (s *Server) Doveadm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.inst.Doveadm(args...)
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	return out
}

// Append stores msg in folder of the account address, creating the folder
// if it is missing, and returns its UID. msg should use CRLF line endings:
// the server returns CRLF whatever it was given. flags may be nil; a zero
// date leaves INTERNALDATE to the server. A failure fails the test.
//
// Append reuses one connection per account, so loading many messages is
// fast; the connection is closed by Stop.
func (s *Server) Append(t testing.TB, address, folder string, msg []byte, flags []imap.Flag, date time.Time) imap.UID {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.appender(address)
	if err != nil {
		t.Fatalf("dovecot: Append as %s: %v", address, err)
	}
	opts := &imap.AppendOptions{Flags: flags, Time: date}
	// A big message goes as a synchronizing literal; if the folder is
	// missing the server refuses the literal and the client drops the
	// connection. So the folder is created before its first APPEND.
	err = s.ensureFolder(c, address, folder)
	var imapErr *imap.Error
	var uid imap.UID
	if err == nil {
		uid, err = appendMessage(c, folder, msg, opts)
	}
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeTryCreate {
		// deleted since Append created it
		if err = c.Create(folder, nil).Wait(); err == nil {
			uid, err = appendMessage(c, folder, msg, opts)
		}
	}
	if err != nil {
		if !errors.As(err, &imapErr) { // the connection is broken: do not reuse it
			delete(s.appenders, strings.ToLower(address))
			closeClient(c)
		}
		t.Fatalf("dovecot: Append to %s of %s: %v", folder, address, err)
	}
	return uid
}

// ensureFolder creates folder of address unless this server's Append has
// already seen it. s.mu is held.
func (s *Server) ensureFolder(c *imapclient.Client, address, folder string) error {
	key := strings.ToLower(address) + "\x00" + folder
	if s.folders[key] {
		return nil
	}
	err := c.Create(folder, nil).Wait()
	var imapErr *imap.Error
	if err != nil && (!errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeAlreadyExists) {
		return fmt.Errorf("create: %w", err)
	}
	s.folders[key] = true
	return nil
}

// appender returns the cached Append connection of address. s.mu is held.
func (s *Server) appender(address string) (*imapclient.Client, error) {
	key := strings.ToLower(address)
	if c := s.appenders[key]; c != nil {
		return c, nil
	}
	c, err := s.login(address)
	if err != nil {
		return nil, err
	}
	s.appenders[key] = c
	return c, nil
}

func appendMessage(c *imapclient.Client, folder string, msg []byte, opts *imap.AppendOptions) (imap.UID, error) {
	cmd := c.Append(folder, int64(len(msg)), opts)
	if _, err := cmd.Write(msg); err != nil {
		_ = cmd.Close() // the write error says what went wrong
		return 0, err
	}
	if err := cmd.Close(); err != nil {
		return 0, err
	}
	data, err := cmd.Wait()
	if err != nil {
		return 0, err
	}
	if data.UID == 0 {
		return 0, errors.New("no APPENDUID in the response")
	}
	return data.UID, nil
}

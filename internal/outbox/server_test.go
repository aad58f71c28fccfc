package outbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the test server got it.
type received struct {
	From string
	To   []string
	Data []byte
}

// mailServer is an in-process SMTP server (go-smtp) that captures what it
// accepts. Its behaviour can be changed while it runs.
type mailServer struct {
	t    *testing.T
	addr string
	tls  *tls.Config // server side; nil for plain text
	// implicit: TLS from the first byte instead of STARTTLS.
	implicit bool
	user     string // required login when not empty (password "secret")

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	got      []received
	dataErr  error            // returned by DATA after reading the message
	rcptErr  map[string]error // by recipient
	dropOnce bool             // close the connection after the next DATA, without replying
	sessions int
}

func newMailServer(t *testing.T) *mailServer {
	return &mailServer{t: t, addr: "127.0.0.1:0", rcptErr: map[string]error{}}
}

// start listens (on the same address as before after a stop).
func (m *mailServer) start() {
	m.t.Helper()
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		m.t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		m.mu.Lock()
		m.sessions++
		m.mu.Unlock()
		return &session{m: m, conn: c}, nil
	}))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLSConfig = m.tls
	if m.implicit {
		ln = tls.NewListener(ln, m.tls)
	}
	m.mu.Lock()
	m.srv, m.ln = srv, ln
	m.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	m.t.Cleanup(m.stop)
}

// stop closes the listener and every connection: the server is down.
func (m *mailServer) stop() {
	m.mu.Lock()
	srv, ln := m.srv, m.ln
	m.srv, m.ln = nil, nil
	m.mu.Unlock()
	if ln != nil {
		// Serve may not have registered the listener yet: close it here.
		_ = ln.Close()
	}
	if srv != nil {
		if err := srv.Close(); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			m.t.Error(err)
		}
	}
}

func (m *mailServer) set(f func(m *mailServer)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *mailServer) received() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.got...)
}

type session struct {
	m    *mailServer
	conn *smtp.Conn
	from string
	to   []string
	auth bool
}

func (s *session) AuthMechanisms() []string {
	if s.m.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.m.user || pass != "secret" {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.m.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.mu.Lock()
	err := s.m.rcptErr[to]
	s.m.mu.Unlock()
	if err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.dataErr != nil {
		return s.m.dataErr
	}
	s.m.got = append(s.m.got, received{From: s.from, To: s.to, Data: b})
	if s.m.dropOnce {
		// Accepted, but the reply never reaches the client.
		s.m.dropOnce = false
		_ = s.conn.Conn().Close()
	}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// testCert returns a server and a client TLS config for 127.0.0.1.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

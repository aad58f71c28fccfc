// Package tcpproxy is a test-only TCP proxy on loopback: it forwards each
// connection to a target, and lets a test shape or watch the traffic: hold
// the server's answers for a delay (a server farther away), see each
// chunk the client sends, slow the server's answers to a rate, and count
// the connections open at once.
package tcpproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options shape a proxy; the zero value forwards as it is.
type Options struct {
	// Delay holds each chunk of the server's answers this long before
	// passing it on, without slowing the stream: every round trip takes
	// Delay more.
	Delay time.Duration
	// Rate, if not 0, passes the server's answers on at most this many
	// bytes per second on each connection (a slow link): a transfer lasts
	// as long whatever the client does with the bytes.
	Rate int64
	// ClientData, if set, sees each chunk the client sends before it is
	// passed on.
	ClientData func(c *Conn, b []byte)
}

// Proxy is a running proxy.
type Proxy struct {
	Addr       string // host:port to connect to
	o          Options
	open, most atomic.Int64
}

// Conn is one proxied connection.
type Conn struct {
	p    *Proxy
	once sync.Once
}

// Done counts the connection out of the open ones (at most once; its close
// does it too): a test may count a connection out before it closes, when
// the client says it is done.
func (c *Conn) Done() { c.once.Do(func() { c.p.open.Add(-1) }) }

// Most is the most connections that were open at once.
func (p *Proxy) Most() int64 { return p.most.Load() }

// Start starts a proxy to target; it stops when the test ends.
func Start(t testing.TB, target string, o Options) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	p := &Proxy{Addr: ln.Addr().String(), o: o}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				_ = client.Close()
				continue
			}
			p.serve(client, server)
		}
	}()
	return p
}

func (p *Proxy) serve(client, server net.Conn) {
	n := p.open.Add(1)
	for m := p.most.Load(); n > m && !p.most.CompareAndSwap(m, n); m = p.most.Load() {
	}
	c := &Conn{p: p}
	done := func() {
		c.Done()
		_ = client.Close()
		_ = server.Close()
	}
	go func() { p.fromClient(c, server, client); done() }()
	go func() { delayedCopy(client, server, p.o.Delay, p.o.Rate); done() }()
}

// fromClient copies the client's chunks to the server, showing each to
// ClientData first.
func (p *Proxy) fromClient(c *Conn, dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if p.o.ClientData != nil {
				p.o.ClientData(c, buf[:n])
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// delayedCopy copies src to dst, each chunk delay after it was read, and
// at most rate bytes per second if rate is not 0.
func delayedCopy(dst, src net.Conn, delay time.Duration, rate int64) {
	if delay <= 0 && rate <= 0 {
		_, _ = io.Copy(dst, src)
		return
	}
	type chunk struct {
		b   []byte
		due time.Time
	}
	ch := make(chan chunk, 4096)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		var begin time.Time
		var sent int64
		for c := range ch {
			time.Sleep(time.Until(c.due))
			if rate > 0 {
				if begin.IsZero() {
					begin = time.Now()
				}
				sent += int64(len(c.b))
				time.Sleep(time.Until(begin.Add(time.Duration(sent * int64(time.Second) / rate))))
			}
			if _, err := dst.Write(c.b); err != nil {
				break
			}
		}
		for range ch { // drain, so the reader never blocks
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{buf[:n], time.Now().Add(delay)}
		}
		if err != nil {
			close(ch)
			<-wrote
			return
		}
	}
}

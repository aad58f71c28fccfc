package web

import (
	"net"
	"net/netip"
	"sync"
)

// LimitPerClient returns a listener that holds at most max connections
// open per client address (the TCP peer): one more is closed as soon as it
// is accepted, so that one client cannot hold every connection of the
// server. Peers for which exempt is true (the trusted reverse proxies,
// which carry everyone's connections) are not counted. max <= 0: no
// limit.
func LimitPerClient(ln net.Listener, max int, exempt func(netip.Addr) bool) net.Listener {
	if max <= 0 {
		return ln
	}
	return &perClient{Listener: ln, max: max, exempt: exempt, open: make(map[netip.Addr]int)}
}

type perClient struct {
	net.Listener
	max    int
	exempt func(netip.Addr) bool
	mu     sync.Mutex
	open   map[netip.Addr]int
}

func (l *perClient) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, perr := netip.ParseAddrPort(c.RemoteAddr().String())
		if perr != nil {
			return c, nil
		}
		a := ap.Addr().Unmap()
		if l.exempt != nil && l.exempt(a) {
			return c, nil
		}
		l.mu.Lock()
		if l.open[a] >= l.max {
			l.mu.Unlock()
			_ = c.Close() // over the limit: refused at once
			continue
		}
		l.open[a]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(a) }}, nil
	}
}

func (l *perClient) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[a]--; l.open[a] <= 0 {
		delete(l.open, a)
	}
}

// countedConn gives its place back once, at its first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

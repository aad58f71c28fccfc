package web

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestLimitPerClient: a client's connections beyond the limit are closed
// at once; closing one frees its place; an exempt peer (a trusted proxy)
// is not counted.
func TestLimitPerClient(t *testing.T) {
	for _, exempt := range []bool{false, true} {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln := LimitPerClient(inner, 2, func(netip.Addr) bool { return exempt })
		accepted := make(chan net.Conn, 10)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		dial := func() net.Conn {
			c, err := net.Dial("tcp", inner.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		// take returns the connections accepted within a moment.
		take := func() []net.Conn {
			var out []net.Conn
			for {
				select {
				case c := <-accepted:
					out = append(out, c)
				case <-time.After(300 * time.Millisecond):
					return out
				}
			}
		}
		clients := []net.Conn{dial(), dial(), dial()}
		got := take()
		if want := map[bool]int{false: 2, true: 3}[exempt]; len(got) != want {
			t.Fatalf("exempt %v: %d of 3 connections accepted, want %d", exempt, len(got), want)
		}
		if !exempt {
			_ = clients[2].SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := clients[2].Read(make([]byte, 1)); err == nil {
				t.Error("the connection over the limit is open")
			}
			_ = got[0].Close() // its place is free again
			dial()
			if again := take(); len(again) != 1 {
				t.Errorf("after one closed, %d accepted, want 1", len(again))
			}
		}
		_ = ln.Close()
	}
}

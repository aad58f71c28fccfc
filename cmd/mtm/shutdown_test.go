package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeStopsWithinItsShutdownTimeout: a stop (SIGTERM) ends `mtm
// serve` within http.shutdown_timeout even while a request is still
// running (here one whose body never finishes arriving), and exits 0.
func TestServeStopsWithinItsShutdownTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve")
	}
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	e.env = append(e.env, "MTM_HTTP_SHUTDOWN_TIMEOUT=2s")
	s := serveE2E(t, e, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: 1000\r\n\r\n{\"email\":")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the request is in its handler, reading the body
	start := time.Now()
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Error(err)
		}
		if took := time.Since(start); took < 1500*time.Millisecond || took > 6*time.Second {
			t.Errorf("stopped in %v with a request running; the timeout is 2s", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("mtm serve did not stop within 30 s of the stop")
	}
}

// TestSlowClientsCannotHoldTheServer: one client opening many connections
// that send a request slowly gets http.max_connections_per_client of them
// (the rest are closed at once), and those are cut off at
// http.read_timeout; the server answers others throughout. Before, 200
// slow clients held 200 connections for minutes.
func TestSlowClientsCannotHoldTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve")
	}
	e := newE2E(t, "alice@example.com")
	e.env = append(e.env, "MTM_HTTP_MAX_CONNECTIONS_PER_CLIENT=4", "MTM_HTTP_READ_TIMEOUT=1s")
	s := serveE2E(t, e, nil)
	addr := strings.TrimPrefix(s.base, "http://")
	var conns []net.Conn
	for range 12 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A request whose body comes slowly: 1000 bytes announced, 9 sent.
		if _, err := c.Write([]byte("POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 1000\r\n\r\n{\"email\":")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	start := time.Now()
	closedAt := make([]time.Duration, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.ReadAll(c) // until the server closes it
			closedAt[i] = time.Since(start)
		})
	}
	wg.Wait()
	early, late := 0, 0
	for _, d := range closedAt {
		switch {
		case d < 500*time.Millisecond:
			early++
		case d < 5*time.Second:
			late++
		}
	}
	if early < 8 || early+late != 12 {
		t.Errorf("closed at %v: want 8 at once (over the limit of 4) and 4 at the read timeout", closedAt)
	}
	res, err := http.Get(s.base + "/login")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("the server after the slow clients: %v %v", res, err)
	}
	res.Body.Close() //nolint:errcheck // test
}

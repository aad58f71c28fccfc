package main

import (
	"net"
	"strings"
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

package tcpproxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// echo starts a server that echoes each line.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close() //nolint:errcheck // test
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := c.Write(append(sc.Bytes(), '\n')); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestDelayAndCount: each round trip takes the delay more; connections
// are counted while open, and out early by ClientData.
func TestDelayAndCount(t *testing.T) {
	target := echo(t)
	p := Start(t, target, Options{Delay: 30 * time.Millisecond, ClientData: func(c *Conn, b []byte) {
		if bytes.Contains(b, []byte("bye")) {
			c.Done()
		}
	}})
	a, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(a)
	start := time.Now()
	for range 3 {
		if _, err := a.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if line, err := rd.ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("echo: %q %v", line, err)
		}
	}
	if took := time.Since(start); took < 90*time.Millisecond {
		t.Errorf("3 round trips took %s, want at least 90ms", took)
	}
	if p.Most() != 2 {
		t.Errorf("most open: %d, want 2", p.Most())
	}
	if _, err := b.Write([]byte("bye\n")); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	time.Sleep(100 * time.Millisecond)
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() //nolint:errcheck // test
	time.Sleep(50 * time.Millisecond)
	if p.Most() != 2 || p.open.Load() != 1 {
		t.Errorf("after a close, a bye and a new connection: most %d open %d, want 2 and 1", p.Most(), p.open.Load())
	}
	_ = b.Close()
}

// TestRate: 256 KiB of answers at 512 KiB/s take half a second at least.
func TestRate(t *testing.T) {
	target := echo(t)
	p := Start(t, target, Options{Rate: 512 << 10})
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() //nolint:errcheck // test
	line := append(bytes.Repeat([]byte("x"), 1023), '\n')
	start := time.Now()
	go func() {
		for range 256 {
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}()
	got, err := io.ReadFull(bufio.NewReader(c), make([]byte, 256<<10))
	if err != nil {
		t.Fatalf("read %d bytes: %v", got, err)
	}
	if took := time.Since(start); took < 450*time.Millisecond {
		t.Errorf("256 KiB at 512 KiB/s took %s, want at least 0.45 s", took)
	}
}

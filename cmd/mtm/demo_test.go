package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mtm/internal/demo"
)

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test's
// reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs mtm demo with a small main account on a free port, logs in
// to the webmail as the printed user, sees fifteen days, opens the outbox
// page, and stops it.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: []string{"TZ=Europe/Rome"}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, env, []string{"demo", "--data", dir, "--listen", "127.0.0.1:0", "--messages", "150"})
	}()
	webmail, outbox := waitForBanner(t, &out, &errOut, done)

	client := &http.Client{Timeout: 10 * time.Second}
	if jar, err := cookiejar.New(nil); err == nil {
		client.Jar = jar
	}
	if body := get(t, client, webmail+"login"); !strings.Contains(body, `type="password"`) {
		t.Errorf("login page: %.200s", body)
	}
	if body := get(t, client, outbox); !strings.Contains(body, "Demo outbox") {
		t.Errorf("outbox page: %.200s", body)
	}
	user := demo.Accounts()[0]
	cred, err := json.Marshal(map[string]string{"email": user.Addr, "password": user.Password})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(webmail+"api/v1/session", "application/json", bytes.NewReader(cred))
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s %v", resp.Status, err)
	}
	var snaps []struct{ Day string }
	if err := json.Unmarshal([]byte(get(t, client, webmail+"api/v1/snapshots")), &snaps); err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 15 {
		t.Errorf("webmail shows %d days, want 15: %v", len(snaps), snaps)
	}
	if _, err := os.Stat(filepath.Join(dir, "catalog.db")); err != nil {
		t.Error(err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("mtm demo exited %d: %s", code, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("mtm demo did not stop")
	}
}

var bannerURL = regexp.MustCompile(`(?m)^\s+(Webmail|Outbox)\s+(http://\S+)$`)

// waitForBanner waits until the demo prints its URLs and returns the
// webmail's and the outbox's.
func waitForBanner(t *testing.T, out, errOut *syncBuffer, done chan int) (webmail, outbox string) {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("mtm demo exited %d early: %s\n%s", code, out.String(), errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		urls := map[string]string{}
		for _, m := range bannerURL.FindAllStringSubmatch(out.String(), -1) {
			urls[m[1]] = m[2]
		}
		if urls["Webmail"] != "" && urls["Outbox"] != "" {
			return urls["Webmail"], urls["Outbox"]
		}
	}
	t.Fatalf("no URLs printed: %s\n%s", out.String(), errOut.String())
	return "", ""
}

// get fetches url, retrying while the server is still starting, and
// returns the body of a 200 answer.
func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	var lastErr error
	for range 100 {
		resp, err := c.Get(url)
		if err != nil {
			lastErr = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v", url, resp.Status, err)
		}
		return string(b)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}

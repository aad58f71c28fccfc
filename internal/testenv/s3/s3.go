// Package s3 starts a throwaway S3 server for tests: versitygw (Apache-2.0,
// a real S3 gateway that checks SigV4 signatures) with its posix back-end
// in a temporary directory, on a free loopback port, stopped and removed
// when the test ends. scripts/deps.sh installs it (go install) when it is
// missing; TESTING.md says why not MinIO.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// requireEnv turns a missing server from a skip into a failure.
const requireEnv = "MTMTEST_REQUIRE_INTEGRATION"

// Server is one running S3 server.
type Server struct {
	Endpoint          string // http://127.0.0.1:PORT
	AccessKeyID       string
	SecretAccessKey   string
	Region            string
	dir               string
	cmd               *exec.Cmd
	exited            chan error
	buckets           atomic.Int64
	logFile, dataRoot string
}

// Start starts a server for the test and stops it when the test ends. It
// skips the test when versitygw is not installed, unless
// MTMTEST_REQUIRE_INTEGRATION=1, then it fails it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		msg := "s3: " + err.Error() + " (run bash scripts/deps.sh)"
		if os.Getenv(requireEnv) == "1" {
			t.Fatal(msg + "; " + requireEnv + "=1 requires it")
		}
		t.Skip(msg)
	}
	s, err := newServer(bin, t.TempDir())
	if err != nil {
		t.Fatalf("s3: %v", err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("s3: %v", err)
		}
	})
	return s
}

func newServer(bin, dir string) (*Server, error) {
	s := &Server{dir: dir, AccessKeyID: "mtm-test-key", SecretAccessKey: "mtm-test-secret-0123456789",
		Region: "us-east-1", logFile: filepath.Join(dir, "log"), dataRoot: filepath.Join(dir, "data")}
	if err := os.MkdirAll(s.dataRoot, 0o750); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err := s.start(bin)
		if err == nil {
			return s, nil
		}
		if attempt == 3 {
			return nil, err
		}
	}
}

// BlobsEnv selects the blob store of the end-to-end tests: "s3" puts the
// blobs in a bucket of a shared server (scripts/test.sh runs them once
// more so), anything else in the local store.
const BlobsEnv = "MTMTEST_BLOBS"

// Matrix reports whether the end-to-end tests keep their blobs in S3.
func Matrix() bool { return os.Getenv(BlobsEnv) == "s3" }

var shared struct {
	sync.Mutex
	s *Server
}

// Shared returns one server for the whole test binary, started on first
// use; each test takes its own Bucket. TestMain stops it with StopShared.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil {
		return shared.s
	}
	bin, err := findBin()
	if err != nil {
		t.Fatalf("s3: %v (run bash scripts/deps.sh)", err)
	}
	dir, err := os.MkdirTemp("", "mtm-s3-")
	if err != nil {
		t.Fatal(err)
	}
	if shared.s, err = newServer(bin, dir); err != nil {
		t.Fatalf("s3: %v", err)
	}
	return shared.s
}

// StopShared stops the server Shared started, if any, and removes its
// directory.
func StopShared() error {
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil {
		return nil
	}
	err := errors.Join(shared.s.stop(), os.RemoveAll(shared.s.dir))
	shared.s = nil
	return err
}

func findBin() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(string(trimNL(gopath)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found")
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (s *Server) start(bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	log, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer log.Close() //nolint:errcheck // the child holds its own descriptor
	s.cmd = exec.Command(bin, "--access", s.AccessKeyID, "--secret", s.SecretAccessKey, "--region", s.Region,
		"--port", addr, "posix", s.dataRoot)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close() //nolint:errcheck // a probe
			s.Endpoint = "http://" + addr
			return nil
		}
		select {
		case err := <-s.exited:
			out, _ := os.ReadFile(s.logFile)
			return fmt.Errorf("versitygw exited: %v\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.cmd.Process.Kill()
			<-s.exited
			return fmt.Errorf("versitygw did not listen on %s within 20 s", addr)
		}
	}
}

func (s *Server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	return nil
}

// Client returns an S3 client of the server, path-style, with request
// checksums only where the API requires them.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(s.Endpoint),
		Region:                     s.Region,
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Bucket creates a new, empty bucket and returns its name, so that tests
// sharing one server do not share objects.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("mtm-test-%d", s.buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3: creating bucket %s: %v", name, err)
	}
	return name
}

// Log returns what the server logged.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logFile)
	return string(b)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

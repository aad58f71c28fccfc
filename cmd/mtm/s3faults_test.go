package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mtm/internal/testenv/corpus"
	"mtm/internal/testenv/s3"
)

// TestS3Faults puts a proxy that misbehaves as object stores do between
// mtm and the S3 server: with every upload delayed, every third answered
// 503 SlowDown, and every second download cut, snapshots and checks still
// finish (retried with backoff); with every upload refused, the snapshot fails with its
// reason, the earlier snapshot stays whole and the store consistent; once
// the store answers again, the next snapshot completes it.
func TestS3Faults(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	srv := s3.Start(t)
	proxy := srv.StartProxy(t)
	e.setBlobs(srv, proxy.Endpoint, srv.Bucket(t))
	folders := []string{"INBOX", "Archive"}
	for _, m := range msgs[:400] {
		e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{})
	}

	proxy.SetFaults(s3.Faults{Kinds: []string{"PUT"}, Every: 3, Delay: 200 * time.Millisecond})
	e.mustMTM("snapshot")
	proxy.SetFaults(s3.Faults{Kinds: []string{"GET"}, Every: 2, Reset: true})
	e.mustMTM("check", "--read-data")
	first := e.snapshots(alice)
	if len(first) != 1 || first[0].State != "committed" {
		t.Fatalf("snapshots with a flaky store: %+v", first)
	}
	proxy.SetFaults(s3.Faults{})
	if d := e.exported(alice, strconv.FormatInt(first[0].ID, 10), "INBOX").diff(e.live(alice, "INBOX")); d != "" {
		t.Errorf("the snapshot taken through faults differs from the mailbox:\n%s", d)
	}

	for _, m := range msgs[400:900] {
		e.dc.Append(t, alice, "Archive", m.Bytes, nil, time.Time{})
	}
	proxy.SetFaults(s3.Faults{Kinds: []string{"PUT"}, Every: 1})
	code, out, errOut := e.mtm("snapshot")
	if code == 0 || !strings.Contains(errOut, "SlowDown") {
		t.Errorf("a snapshot with every upload refused: exit %d\n%s%s", code, out, errOut)
	}
	proxy.SetFaults(s3.Faults{})
	after := e.snapshots(alice)
	if len(after) != 2 || after[0] != first[0] || after[1].State != "failed" {
		t.Fatalf("snapshots after the refused uploads: %+v", after)
	}
	e.mustMTM("check", "--read-data")

	e.mustMTM("snapshot")
	final := e.snapshots(alice)
	if len(final) != 3 || final[2].State != "committed" {
		t.Fatalf("snapshots once the store answers again: %+v", final)
	}
	if d := e.exported(alice, strconv.FormatInt(final[2].ID, 10), folders...).diff(e.live(alice, folders...)); d != "" {
		t.Errorf("the snapshot after the outage differs from the mailbox:\n%s", d)
	}
	e.mustMTM("check", "--read-data")
	counts := proxy.Counts()
	t.Logf("requests through the proxy: %v", counts)
	if counts["PUT"] == 0 || counts["GET"] == 0 {
		t.Errorf("the proxy saw no uploads or downloads: %v", counts)
	}
}

// TestSIGKILLDuringUpload kills mtm while it uploads a pack (the proxy
// holds every upload for a while): the earlier snapshot stays whole, the
// store is consistent (the half-uploaded object, if any, is named by no
// index row and only reported), and the next run completes.
func TestSIGKILLDuringUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	srv := s3.Start(t)
	proxy := srv.StartProxy(t)
	e.setBlobs(srv, proxy.Endpoint, srv.Bucket(t))
	for _, m := range msgs[:200] {
		e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{})
	}
	e.mustMTM("snapshot")
	before := e.snapshots(alice)
	for _, m := range msgs[200:1200] {
		e.dc.Append(t, alice, "Archive", m.Bytes, nil, time.Time{})
	}

	proxy.SetFaults(s3.Faults{Kinds: []string{"PUT"}, Delay: 3 * time.Second})
	cmd, exited, out := e.startMTM("snapshot")
	deadline := time.Now().Add(60 * time.Second)
	for proxy.InFlight("PUT") == 0 {
		select {
		case err := <-exited:
			t.Fatalf("mtm snapshot ended before uploading (%v):\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no upload began within a minute:\n%s", out.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("mtm snapshot was not killed (%v):\n%s", err, out.String())
	}
	proxy.SetFaults(s3.Faults{})

	after := e.snapshots(alice)
	if len(after) != 2 || after[0] != before[0] || after[1].State != "running" {
		t.Fatalf("snapshots after the kill: %+v", after)
	}
	e.mustMTM("check", "--read-data")
	e.mustMTM("snapshot")
	final := e.snapshots(alice)
	if len(final) != 3 || final[1].State != "failed" || final[2].State != "committed" {
		t.Fatalf("snapshots after the next run: %+v", final)
	}
	folders := []string{"INBOX", "Archive"}
	if d := e.exported(alice, strconv.FormatInt(final[2].ID, 10), folders...).diff(e.live(alice, folders...)); d != "" {
		t.Errorf("the completed snapshot differs from the mailbox:\n%s", d)
	}
	e.mustMTM("check", "--read-data")
}

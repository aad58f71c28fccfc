package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"mtm/internal/clock"
	"mtm/internal/store"
	"mtm/internal/testenv/corpus"
	"mtm/internal/testenv/s3"
)

// TestBlobsCopy moves the local blob store of a data directory with two
// snapshots into a bucket: a copy interrupted after its first batch is
// taken up by `mtm blobs copy`, which skips what is there; then, with
// [blobs] url set to the bucket, `mtm check --read-data` is clean and the
// exports are the ones of the local store.
func TestBlobsCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	if e.s3Bucket != "" {
		t.Skip("the data directory's blobs are in S3 already")
	}
	for _, m := range msgs[:300] {
		e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{})
	}
	big := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 120000)...) // 2 MiB
	e.dc.Append(t, alice, "INBOX", big, nil, time.Time{})
	e.mustMTM("snapshot")
	for _, m := range msgs[300:500] {
		e.dc.Append(t, alice, "Archive", m.Bytes, nil, time.Time{})
	}
	e.mustMTM("snapshot")
	snaps := e.snapshots(alice)
	folders := [][]string{{"INBOX"}, {"INBOX", "Archive"}} // of each snapshot
	want := make([]digests, len(snaps))
	for i, s := range snaps {
		want[i] = e.exported(alice, strconv.FormatInt(s.ID, 10), folders[i]...)
	}

	srv := s3.Start(t)
	bucket := srv.Bucket(t)
	e.setBlobs(srv, srv.Endpoint, bucket)
	cfg, err := loadConfig(&environment{getenv: []string{}}, e.config)
	if err != nil {
		t.Fatal(err)
	}
	opts := storeOptions(cfg, clock.Real{})
	ctx, cancel := context.WithCancel(context.Background())
	_, err = store.CopyBlobs(ctx, store.BlobsCopyOptions{Store: opts, Every: 50, Progress: func(int64, int64, int64) { cancel() }})
	cancel()
	if err == nil {
		t.Fatal("a cancelled copy succeeded")
	}
	out := e.mustMTM("blobs", "copy")
	if !strings.Contains(out, "50 were there already") || !strings.Contains(out, "copied ") {
		t.Errorf("the second copy did not take up the first:\n%s", out)
	}
	if out := e.mustMTM("blobs", "copy"); !strings.Contains(out, "copied 0 blobs") {
		t.Errorf("a third copy copied again:\n%s", out)
	}
	if out := e.mustMTM("check", "--read-data"); !strings.Contains(out, "no problems found") {
		t.Errorf("check on the bucket:\n%s", out)
	}
	for i, s := range snaps {
		if d := e.exported(alice, strconv.FormatInt(s.ID, 10), folders[i]...).diff(want[i]); d != "" {
			t.Errorf("snapshot %d from the bucket differs from the local store's:\n%s", s.ID, d)
		}
	}
}

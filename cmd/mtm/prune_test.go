package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/testenv/corpus"
	"mtm/internal/testenv/s3"
	"mtm/internal/testenv/tcpproxy"
)

// expunge deletes the messages with these UIDs from folder: it marks them
// \Deleted and expunges them.
func expunge(t *testing.T, c *imapclient.Client, folder string, uids ...imap.UID) {
	t.Helper()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	set := imap.UIDSetNum(uids...)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UIDExpunge(set).Close(); err != nil {
		t.Fatal(err)
	}
}

func toggleSeen(t *testing.T, c *imapclient.Client, folder string, uid imap.UID, on bool) {
	t.Helper()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	op := imap.StoreFlagsDel
	if on {
		op = imap.StoreFlagsAdd
	}
	if err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPruneOnDovecot takes a snapshot every midnight in Rome across the end
// of DST, while mail arrives, is deleted and flagged, and prunes after
// each: exactly the last 15 days remain, each still byte-identical to the
// mailbox on its day. Then a snapshot that stores again messages whose last
// snapshots are expiring runs while prune runs beside it over and over:
// nothing it references is deleted, and the store checks clean. Damage is
// then reported by check, precisely, and a clean store stays clean through
// prune.
func TestPruneOnDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("loads part of the corpus")
	}
	t.Parallel()
	msgs := corpus.SpamAssassin(t)
	const alice, bob = "alice@example.com", "bob@example.com"
	e := newE2E(t, alice, bob)
	folders := []string{"INBOX", "Archive"}
	var bobs []imap.UID
	for _, m := range msgs[2000:2100] {
		bobs = append(bobs, e.dc.Append(t, bob, "INBOX", m.Bytes, nil, time.Time{}))
	}
	var uids []imap.UID
	for _, m := range msgs[:300] {
		uids = append(uids, e.dc.Append(t, alice, "INBOX", m.Bytes, nil, time.Time{}))
	}
	for _, m := range msgs[300:400] {
		e.dc.Append(t, alice, "Archive", m.Bytes, nil, time.Time{})
	}
	c := e.dc.Dial(t, alice)
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}

	// 15 October to 2 November: DST ends on 25 October.
	views := map[string]digests{}
	next := 400
	for d := range 19 {
		day := time.Date(2026, 10, 15+d, 0, 0, 30, 0, rome)
		e.now = day.Format(time.RFC3339)
		if d > 0 {
			e.dc.Append(t, alice, "INBOX", msgs[next].Bytes, nil, time.Time{})
			e.dc.Append(t, alice, "Archive", msgs[next+1].Bytes, nil, time.Time{})
			next += 2
			expunge(t, c, "INBOX", uids[d])
			toggleSeen(t, c, "INBOX", uids[100+d], true)
		}
		if d == 18 { // bob deletes his mail on the last day
			expunge(t, e.dc.Dial(t, bob), "INBOX", bobs...)
		}
		e.mustMTM("snapshot")
		views[day.Format(time.DateOnly)] = e.live(alice, folders...)
		e.mustMTM("prune")
	}
	snaps := e.snapshots(alice)
	if len(snaps) != 15 || snaps[0].Day != "2026-10-19" || snaps[14].Day != "2026-11-02" {
		var days []string
		for _, s := range snaps {
			days = append(days, s.Day)
		}
		t.Fatalf("after 19 days the kept days are %v, want 19 October to 2 November", days)
	}
	for _, s := range snaps {
		if d := e.exported(alice, strconv.FormatInt(s.ID, 10), folders...).diff(views[s.Day]); d != "" {
			t.Errorf("snapshot of %s after prune differs from the mailbox on that day:\n%s", s.Day, d)
		}
	}
	e.mustMTM("check", "--read-data")

	t.Run("racing a snapshot", func(t *testing.T) { pruneRacesSnapshot(t, e, msgs) })
	t.Run("check reports damage", func(t *testing.T) { checkReportsDamage(t, e) })
}

// freedRE finds how many contents rows a prune freed.
var freedRE = regexp.MustCompile(`pruned: .* (\d+) contents;`)

// pruneRacesSnapshot: bob deleted his mail on the last day. Alice receives
// the same messages, after a thousand others in the same folder, and a
// snapshot of her account stores them (their blobs exist) while prune,
// keeping one day only, runs in a loop beside it, expiring bob's snapshots
// that held them: the expiry frees them while her snapshot stores them
// again.
func pruneRacesSnapshot(t *testing.T, e *e2e, msgs []corpus.Message) {
	const alice = "alice@example.com"
	// The snapshot must outlast a prune or two; a prune on PostgreSQL and
	// S3 costs more (connections, listing the bucket), so the snapshot
	// gets more mail there.
	others, rate := msgs[1000:2000], int64(1<<20)
	if e.catalogURL != "" || e.s3Bucket != "" {
		others, rate = msgs[2100:5100], 2<<20
	}
	for _, m := range others {
		e.dc.Append(t, alice, "Again", m.Bytes, nil, time.Time{})
	}
	for _, m := range msgs[2000:2100] {
		e.dc.Append(t, alice, "Again", m.Bytes, nil, time.Time{})
	}
	e.now = time.Date(2026, 11, 3, 0, 0, 30, 0, time.UTC).Format(time.RFC3339)
	// The snapshot reads through a slow link (a round trip of 100 ms, and
	// the mail at 1 or 2 MiB/s: about 5 and 8 s): it lasts several prunes
	// however fast the machine and mtm are (a delay alone stopped being
	// enough once mtm stored the mail faster).
	slow := tcpproxy.Start(t, e.dc.Addr, tcpproxy.Options{Delay: 100 * time.Millisecond, Rate: rate})
	e.env = []string{"MTM_IMAP_ADDRESS=" + slow.Addr}
	_, exited, out := e.startMTM("snapshot", "--account", alice)
	e.waitStaged(exited, out)
	e.env = []string{"MTM_RETENTION_DAYS=1"}
	defer func() { e.env = nil }()
	prunes, deferred := 0, 0
	var freed []string // contents freed by each prune that freed some
	for done := false; !done; {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("mtm snapshot: %v\n%s", err, out.String())
			}
			done = true
		default:
			o := e.mustMTM("prune", "--wait", "0s")
			prunes++
			if strings.Contains(o, "deferred") {
				deferred++
			}
			if m := freedRE.FindStringSubmatch(o); m != nil && m[1] != "0" {
				freed = append(freed, m[1])
			}
		}
	}
	t.Logf("%d prunes ran beside the snapshot, %d of them deferred blob deletion", prunes, deferred)
	if deferred == 0 || len(freed) == 0 {
		t.Errorf("no prune freed contents (%v) or deferred blob deletion (%d) while the snapshot ran: "+
			"the race was not exercised", freed, deferred)
	}
	e.mustMTM("prune")
	if o := e.mustMTM("prune", "--dry-run"); !strings.Contains(o, "blobs:   0 to delete") {
		t.Errorf("garbage left after a prune that could delete:\n%s", o)
	}
	e.mustMTM("check", "--read-data")
	snaps := e.snapshots(alice)
	last := snaps[len(snaps)-1]
	all := []string{"INBOX", "Archive", "Again"}
	if d := e.exported(alice, strconv.FormatInt(last.ID, 10), all...).diff(e.live(alice, all...)); d != "" {
		t.Errorf("the snapshot taken beside prune differs from the mailbox:\n%s", d)
	}
}

// checkReportsDamage: check names a deleted blob, a corrupted blob and a
// dangling catalog row, and exits non-zero.
func checkReportsDamage(t *testing.T, e *e2e) {
	ctx := context.Background()
	data := filepath.Join(e.dir, "data")
	cat := e.openCatalog(ctx, catalog.Options{Clock: clock.Real{}})
	var hashes [][32]byte
	err := cat.Contents(ctx, func(c catalog.StoredContent) error {
		if len(hashes) < 2 {
			hashes = append(hashes, c.Hash)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The blob index loses the first blob; the second's bytes rot.
	if e.s3Bucket != "" {
		damageS3(t, e, cat, hashes[0], hashes[1])
	} else {
		damageLocal(t, filepath.Join(data, "blobs"), hashes[0], hashes[1])
	}
	if err := cat.Close(); err != nil {
		t.Fatal(err)
	}
	dangling := `INSERT INTO entries(account_id, mailbox_id, uid, content_id, flags,
		internal_date, internal_tz, first_snap) VALUES(1, 1, 99999, 987654321, '', 0, 0, 1)`
	if e.catalogURL == "" {
		sqlExec(t, filepath.Join(data, "catalog.db"), dangling)
	} else if err := pgExec(ctx, e.catalogURL, dangling); err == nil || !strings.Contains(err.Error(), "foreign key") {
		// PostgreSQL enforces the catalog's foreign keys: the damage check
		// names is one the database refuses.
		t.Errorf("PostgreSQL took a row naming a missing content: %v", err)
	}

	code, out, _ := e.mtm("check", "--read-data")
	if code != 1 {
		t.Errorf("check of a damaged store exited %d, want 1", code)
	}
	for _, want := range []string{
		hex.EncodeToString(hashes[0][:]) + " of content", "is missing",
		hex.EncodeToString(hashes[1][:]) + " of content",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check's report lacks %q:\n%s", want, out)
		}
	}
	if e.catalogURL == "" && !strings.Contains(out, "foreign key: entries row") {
		t.Errorf("check's report lacks the dangling entries row:\n%s", out)
	}
}

// damageLocal drops lost's row from the local store's index and flips a
// byte of rotten's entry.
func damageLocal(t *testing.T, blobs string, lost, rotten [32]byte) {
	ctx := context.Background()
	sqlExec(t, filepath.Join(blobs, "index.db"), fmt.Sprintf("DELETE FROM blobs WHERE hash = X'%x'", lost))
	bs, err := blobstore.OpenLocal(blobs, blobstore.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := bs.Locate(ctx, rotten)
	if cerr := bs.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	b, err := os.ReadFile(loc.Path)
	if err != nil {
		t.Fatal(err)
	}
	b[loc.Offset+loc.Length-6] ^= 0xff
	if err := os.Chmod(loc.Path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loc.Path, b, 0o440); err != nil {
		t.Fatal(err)
	}
}

// damageS3 drops lost's row from the blob index in the catalog and flips
// a byte of rotten's entry in its object in the bucket.
func damageS3(t *testing.T, e *e2e, cat *catalog.DB, lost, rotten [32]byte) {
	ctx := context.Background()
	if ok, err := cat.DeleteBlob(ctx, lost); !ok || err != nil {
		t.Fatalf("dropping the index row of %x: %v %v", lost[:4], ok, err)
	}
	loc, err := cat.LocateBlob(ctx, rotten)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("mtm/blobs/%x/%x/%x", rotten[:1], rotten[1:2], rotten[:])
	if loc.Pack != 0 {
		key = fmt.Sprintf("mtm/packs/%016x.pack", loc.Pack)
	}
	c := s3.Shared(t).Client()
	obj, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(e.s3Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	b[loc.Offset+loc.Length-6] ^= 0xff
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(e.s3Bucket), Key: aws.String(key),
		Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
}

// pgExec runs one statement on a PostgreSQL catalog directly.
func pgExec(ctx context.Context, url, query string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, query)
	return errors.Join(err, c.Close(ctx))
}

// sqlExec runs one statement on the catalog file directly, as damage would.
func sqlExec(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(query); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotWaitsForBlobDeletion: while another process holds the
// blob-deletion lock, a snapshot does not begin; it begins as soon as the
// lock is released.
func TestSnapshotWaitsForBlobDeletion(t *testing.T) {
	t.Parallel()
	const alice = "alice@example.com"
	e := newE2E(t, alice)
	e.dc.Append(t, alice, "INBOX", []byte("Subject: hi\r\n\r\nhello\r\n"), nil, time.Time{})
	e.mustMTM("snapshot")

	ctx := context.Background()
	other := e.openCatalog(ctx, catalog.Options{Clock: clock.Real{}, Owner: "otherhost:1:prune"})
	defer other.Close() //nolint:errcheck // test cleanup
	lock, err := other.LockBlobDeletion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		code, out, errOut := e.mtm("snapshot")
		done <- fmt.Sprintf("exit %d\n%s%s", code, out, errOut)
	}()
	select {
	case res := <-done:
		t.Fatalf("the snapshot ran while prune held the lock: %s", res)
	case <-time.After(1500 * time.Millisecond):
	}
	if n := len(e.snapshots(alice)); n != 1 {
		t.Errorf("%d snapshots while the lock is held, want the first only", n)
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if !strings.HasPrefix(res, "exit 0") {
			t.Fatalf("the snapshot after the lock: %s", res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the snapshot did not begin after the lock was released")
	}
	if snaps := e.snapshots(alice); len(snaps) != 2 || snaps[1].State != "committed" {
		t.Errorf("snapshots: %+v", snaps)
	}
}

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"mtm/internal/testenv/dovecot"
	"mtm/internal/testenv/s3"
)

// BenchmarkBlobs compares the two blob stores side by side on one Dovecot
// in high-performance mode (make bench-blobs): the first snapshot of the
// large account (50,000 messages by default) into the local store and into
// S3 (versitygw on loopback, its posix back-end on the same disk), both
// with the embedded catalog, taking turns. A proxy in front of the S3
// server counts the requests: uploads per 1,000 messages stored, and
// downloads per message read back (an export of the snapshot). It prints
// Markdown like BenchmarkStore and ignores b.N: run it with -benchtime 1x.
func BenchmarkBlobs(b *testing.B) {
	h := newHarnessWith(b, dovecot.Options{Performance: true})
	srv := s3.Start(b)
	proxy := srv.StartProxy(b)
	r := &report{b: b}
	r.sections = append(r.sections, fmt.Sprintf("Load average (1, 5, 15 min) at the start: %s.\n", loadAvg()))
	a := &account{address: "alice@example.com", tag: "alice", folders: benchFolders}
	h.dc.AddUser(b, a.address, "pw")
	h.progressf("delivering %d messages to %s", *flagMessages, a.address)
	raw := h.deliver(a, *flagMessages)
	if got := h.folderCounts(a.address); got != *flagMessages {
		b.Fatalf("%s: Dovecot has %d messages, want %d", a.address, got, *flagMessages)
	}
	h.progressf("delivered %s", mib(raw))

	var local, remote []measured
	var puts, lists []int64
	var last *mtmStore
	var lastBucket string
	for i := 1; i <= *flagRuns; i++ {
		order := []string{"local", "s3"}
		if i%2 == 0 {
			order = []string{"s3", "local"}
		}
		for _, kind := range order {
			st := h.newStore(fmt.Sprintf("blobs-%s-%d", kind, i), []string{a.address})
			if kind == "s3" {
				bucket := srv.Bucket(b)
				st.editConfig(func(cfg []byte) []byte {
					return append(cfg, s3Section(srv, proxy.Endpoint, bucket)...)
				})
				proxy.Counts()
			}
			m := st.mustRun(time.Time{}, "snapshot")
			if snap := st.last(a.address); snap.Messages != int64(*flagMessages) {
				b.Fatalf("%s: snapshot of %d messages, want %d", kind, snap.Messages, *flagMessages)
			}
			h.progressf("%s, first run %d: %s (CPU %s)", kind, i, seconds(m.Wall), seconds(m.CPU))
			if kind == "local" {
				local = append(local, m)
				st.remove()
				continue
			}
			c := proxy.Counts()
			remote, puts, lists = append(remote, m), append(puts, c["PUT"]), append(lists, c["LIST"]+c["GET"])
			if last != nil {
				last.remove()
			}
			last, lastBucket = st, bucketOf(string(mustRead(b, st.config)))
		}
	}
	bucketBytes, _ := bucketStats(b, srv, lastBucket)

	// Reading back: an export of the whole snapshot, through the proxy.
	proxy.Counts()
	out := filepath.Join(h.work, "export")
	exp := last.mustRun(time.Time{}, "export", "--account", a.address, "--snapshot",
		fmt.Sprint(last.last(a.address).ID), "--out", out)
	reads := proxy.Counts()
	if err := os.RemoveAll(out); err != nil {
		b.Fatal(err)
	}

	churn := blobsChurn(h, a, last, lastBucket, srv, proxy)
	opened, webGETs, err := webmailGETs(h, srv, proxy)
	if err != nil {
		b.Fatalf("webmail on S3: %v", err)
	}

	ratio := median(walls(remote)).Seconds() / median(walls(local)).Seconds()
	row := func(name string, ms []measured) []string {
		return []string{name, seconds(median(walls(ms))), runList(ms), seconds(median(cpus(ms)))}
	}
	perK := func(n int64) string { return fmt.Sprintf("%.1f", float64(n)*1000/float64(*flagMessages)) }
	r.table(fmt.Sprintf("First snapshot of one account: %d messages, %d folders, %s", *flagMessages, len(a.folders), mib(raw)),
		[]string{"blob store", "median wall", "runs", "mtm CPU (median)"},
		[][]string{row("local packs (data_dir/blobs)", local), row("S3 (versitygw on loopback)", remote)},
		fmt.Sprintf("S3 / local = **%.2f**. Each run into a new data directory (and a new bucket); the stores take "+
			"turns going first. Requests of the S3 runs: PUT %v, LIST and GET %v (the median run: %s PUTs per "+
			"1,000 messages stored). The bucket after one first snapshot: %s for %s of mail as served by IMAP "+
			"(%.1f %%).", ratio, puts, lists, perK(median64(puts)), mib(bucketBytes), mib(raw),
			100*float64(bucketBytes)/float64(raw)))
	r.table("Reading back: `mtm export` of the snapshot from S3", []string{"messages", "wall", "GET requests",
		"GETs per message read"}, [][]string{{fmt.Sprint(*flagMessages), seconds(exp.Wall), fmt.Sprint(reads["GET"]),
		fmt.Sprintf("%.2f", float64(reads["GET"])/float64(*flagMessages))}})
	r.table(fmt.Sprintf("%d days of churn (+%d %% new, -%d %% deleted, %d %% reflagged a day), then prune", *flagDays,
		newPct, delPct, flagPct), []string{"state", "objects", "bucket", "× one copy"},
		[][]string{
			{"after the last day, before prune", fmt.Sprint(churn.beforeObjects), mib(churn.before), fmt.Sprintf("%.2f", float64(churn.before)/float64(churn.raw))},
			{"after prune (compaction, then the grace period, then prune again)", fmt.Sprint(churn.afterObjects), mib(churn.after), fmt.Sprintf("%.2f", float64(churn.after)/float64(churn.raw))},
		},
		fmt.Sprintf("One copy is the last snapshot's size as served by IMAP: %s. Requests of the days' snapshots: "+
			"PUT %d (%.1f per 1,000 new messages), GET %d, LIST %d; of the prunes: PUT %d, GET %d, DELETE %d, LIST %d. "+
			"`mtm check --read-data` after prune: %s", mib(churn.raw), churn.days["PUT"],
			float64(churn.days["PUT"])*1000/float64(max(churn.newMessages, 1)), churn.days["GET"], churn.days["LIST"],
			churn.prune["PUT"], churn.prune["GET"], churn.prune["DELETE"], churn.prune["LIST"], churn.check))
	r.table("The webmail on S3: messages opened", []string{"messages opened", "GET requests", "GETs per message opened"},
		[][]string{{fmt.Sprint(opened), fmt.Sprint(webGETs), fmt.Sprintf("%.2f", float64(webGETs)/float64(max(opened, 1)))}},
		"A second account of 200 messages in its own bucket, served by `mtm serve` through the proxy; each message "+
			"opened as the page opens it: the message, and its HTML body in the sandboxed frame when it has one.")
	r.target("first snapshot, S3 vs local store", "≤ 1.3 ×", fmt.Sprintf("%.2f ×", ratio), verdict(ratio <= 1.3))
	storeRatio := float64(churn.after) / float64(churn.raw)
	r.target("bucket after churn and prune", "≤ 1.0 × one copy", fmt.Sprintf("%.2f × (%s vs %s)", storeRatio,
		mib(churn.after), mib(churn.raw)), verdict(storeRatio <= 1.0 && churn.check != "failed"))
	r.metric(ratio, "first-s3/local")
	r.dovecotErrors(h)
	r.sections = append(r.sections, fmt.Sprintf("Load average at the end: %s.\n", loadAvg()))
	r.print(os.Stdout)
}

// s3Section is the [blobs] section that puts a store's mail in bucket of
// srv, reached at endpoint.
func s3Section(srv *s3.Server, endpoint, bucket string) []byte {
	return []byte(fmt.Sprintf("[blobs]\nurl = \"s3://%s/mtm\"\nendpoint = %q\npath_style = true\n"+
		"access_key_id = %q\nsecret_access_key = %q\n", bucket, endpoint, srv.AccessKeyID, srv.SecretAccessKey))
}

func mustRead(b *testing.B, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// bucketOf returns the bucket named by a config's [blobs] url.
func bucketOf(cfg string) string {
	_, rest, _ := strings.Cut(cfg, `url = "s3://`)
	bucket, _, _ := strings.Cut(rest, "/")
	return bucket
}

func median64(xs []int64) int64 {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x)
	}
	return int64(median(ds))
}

// churnResult is what the days of churn on S3 measured.
type churnResult struct {
	raw, before, after          int64 // one copy; bucket bytes before and after prune
	beforeObjects, afterObjects int
	newMessages                 int
	days, prune                 map[string]int64 // requests by kind
	check                       string
}

// blobsChurn runs the days of churn on the account with st (its blobs in
// bucket), one snapshot a day under the test clock, then prunes as the
// scheduler would after the last night, and again once the grace period of
// the objects prune retired is over.
func blobsChurn(h *harness, a *account, st *mtmStore, bucket string, srv *s3.Server, proxy *s3.Proxy) churnResult {
	h.b.Helper()
	rng := rand.New(rand.NewPCG(20250101, 15))
	today := time.Now().UTC().Truncate(24 * time.Hour)
	dayTime := func(d int) time.Time { return today.AddDate(0, 0, d).Add(2 * time.Hour) }
	var res churnResult
	proxy.Counts()
	for d := 1; d <= *flagDays; d++ {
		c := h.churn(a, rng, newPct, delPct, flagPct)
		res.newMessages += c.New
		m := st.mustRun(dayTime(d), "snapshot")
		h.progressf("S3 day %d: +%d -%d ~%d; mtm %s", d, c.New, c.Deleted, c.Reflagged, seconds(m.Wall))
	}
	res.days = proxy.Counts()
	res.raw = st.last(a.address).Bytes
	res.before, res.beforeObjects = bucketStats(h.b, srv, bucket)
	end := dayTime(*flagDays)
	st.mustRun(end.Add(time.Hour), "prune")
	st.mustRun(end.Add(3*time.Hour), "prune") // the retired objects' hour is over
	res.prune = proxy.Counts()
	res.after, res.afterObjects = bucketStats(h.b, srv, bucket)
	res.check = "clean"
	if m, err := st.run(end.Add(3*time.Hour), "check", "--read-data"); err != nil {
		res.check = "failed"
		h.progressf("check after prune: %v", err)
	} else {
		res.check = lastLine(m.Output)
	}
	return res
}

// bucketStats returns the bytes and the number of the bucket's objects.
func bucketStats(b *testing.B, srv *s3.Server, bucket string) (int64, int) {
	var n int64
	objects := 0
	p := awss3.NewListObjectsV2Paginator(srv.Client(), &awss3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range page.Contents {
			n += aws.ToInt64(o.Size)
			objects++
		}
	}
	return n, objects
}

// webmailGETs measures the object store's GETs per message opened in the
// webmail: a small account snapshotted into a bucket through the proxy,
// `mtm serve` on it, the search indexer's reads let settle, then messages
// opened as the webmail's page opens them (the message, and its HTML body
// when it has one).
func webmailGETs(h *harness, srv *s3.Server, proxy *s3.Proxy) (opened int, gets int64, err error) {
	h.b.Helper()
	const bob = "bob@example.com"
	h.dc.AddUser(h.b, bob, "pw")
	a := &account{address: bob, tag: "bob", folders: []string{"INBOX"}}
	h.deliver(a, 200)
	st := h.newStore("webmail-s3", []string{bob})
	bucket := srv.Bucket(h.b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return 0, 0, err
	}
	st.editConfig(func(cfg []byte) []byte {
		cfg = append([]byte(fmt.Sprintf("listen = %q\n", addr)), cfg...)
		return append(cfg, s3Section(srv, proxy.Endpoint, bucket)...)
	})
	st.mustRun(time.Time{}, "snapshot")
	cmd := exec.Command(h.mtm, "serve", "--config", st.config)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if res, err := c.Get(base + "/api/v1/session"); err == nil {
			_ = res.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			return 0, 0, errors.New("mtm serve did not answer within 30 s")
		}
	}
	// The search indexer reads every new message once at start: wait until
	// the GETs stop.
	for last := int64(-1); ; time.Sleep(time.Second) {
		n := proxy.Counts()["GET"]
		if n == 0 && last == 0 {
			break
		}
		last = n
	}
	getJSON := func(path string, v any) error {
		res, err := c.Get(base + path)
		if err != nil {
			return err
		}
		defer res.Body.Close() //nolint:errcheck // read below
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, res.Status)
		}
		if v == nil {
			_, err = io.Copy(io.Discard, res.Body)
			return err
		}
		return json.NewDecoder(res.Body).Decode(v)
	}
	res, err := c.Post(base+"/api/v1/session", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email": %q, "password": "pw"}`, bob)))
	if err != nil {
		return 0, 0, err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("login: %s", res.Status)
	}
	var snaps []struct{ ID int64 }
	if err := getJSON("/api/v1/snapshots", &snaps); err != nil || len(snaps) == 0 {
		return 0, 0, fmt.Errorf("snapshots: %v (%d)", err, len(snaps))
	}
	var list struct{ Messages []struct{ ID int64 } }
	sid := fmt.Sprint(snaps[0].ID)
	if err := getJSON("/api/v1/snapshots/"+sid+"/messages?folder=INBOX&limit=50", &list); err != nil {
		return 0, 0, err
	}
	proxy.Counts()
	for _, m := range list.Messages {
		var msg struct {
			HasHTML bool   `json:"has_html"`
			Base    string `json:"base"`
		}
		if err := getJSON(fmt.Sprintf("/api/v1/snapshots/%s/messages/%d", sid, m.ID), &msg); err != nil {
			return 0, 0, err
		}
		if msg.HasHTML {
			if err := getJSON(msg.Base+"/body", nil); err != nil {
				return 0, 0, err
			}
		}
		opened++
	}
	return opened, proxy.Counts()["GET"], nil
}

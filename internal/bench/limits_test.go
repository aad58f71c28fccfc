package bench

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mtm/internal/blobstore"
	"mtm/internal/testenv/dovecot"
)

// The sizes of BenchmarkLimits.
var (
	flagLimitAccounts = flag.Int("mtm.limits.accounts", 1000, "unchanged small accounts of the nightly comparison")
	flagLimitPer      = flag.Int("mtm.limits.peraccount", 10, "messages per small account")
	flagLimitConc     = flag.Int("mtm.limits.concurrency", 4, "accounts at a time, for mtm and the raw client")
	flagLimitConns    = flag.Int("mtm.limits.connections", 2, "mtm's connections_per_account")
	flagLimitProfile  = flag.String("mtm.limits.profiles", "", "directory for CPU profiles of mtm's first run of each comparison")
)

// profileArgs returns the arguments that make an mtm run write a CPU
// profile named name, on the first run only.
func profileArgs(run int, name string) []string {
	if *flagLimitProfile == "" || run > 0 {
		return nil
	}
	return []string{"--cpuprofile", filepath.Join(*flagLimitProfile, name+".pprof")}
}

// limitFolders are the folders of the corpus account and of each small
// account: message n goes to limitFolders[n%5].
var limitFolders = []string{"INBOX", "Archive", "Sent", "Lists", "Junk"}

// BenchmarkLimits measures mtm against the mail server's own limits, side
// by side in one run on one Dovecot in high-performance mode (the way
// providers run it):
//
//   - first snapshot of the SpamAssassin corpus (6,046 messages in one
//     account) against a raw client that only FETCHes every BODY.PEEK[]
//     and throws the bytes away;
//   - nightly snapshot of many unchanged small accounts against a raw
//     client that logs in, asks one LIST "" "*" RETURN (STATUS (...)) and
//     logs out, at the same concurrency.
//
// Raw clients and mtm take turns, so that load changes hit both. It prints
// Markdown like BenchmarkStore. It ignores b.N: run it with -benchtime 1x
// (make bench-limits).
func BenchmarkLimits(b *testing.B) {
	h := newHarnessWith(b, dovecot.Options{Performance: true})
	r := &report{b: b}
	r.sections = append(r.sections, fmt.Sprintf("Load average (1, 5, 15 min) at the start: %s.\n", loadAvg()))
	limitFirst(h, r)
	limitNightly(h, r)
	r.dovecotErrors(h)
	r.sections = append(r.sections, fmt.Sprintf("Load average at the end: %s.\n", loadAvg()))
	r.print(os.Stdout)
}

// limitFirst compares a first snapshot of the corpus account with the raw
// FETCH client.
func limitFirst(h *harness, r *report) {
	const address = "corpus@example.com"
	h.dc.AddUser(h.b, address, "pw")
	var raw int64
	for i, m := range h.corpus {
		h.dc.Deliver(h.b, address, limitFolders[i%len(limitFolders)], m, flagsOf(i), dateOf(i))
		raw += int64(imapSize(m))
	}
	if got := h.folderCounts(address); got != len(h.corpus) {
		h.b.Fatalf("%s: Dovecot has %d messages, want %d", address, got, len(h.corpus))
	}
	h.progressf("corpus account: %d messages, %s", len(h.corpus), mib(raw))
	const empty = "empty@example.com" // an INBOX without mail: what any run of mtm snapshot costs
	h.dc.AddUser(h.b, empty, "pw")
	var fetch, compress, snap, fixed []measured
	for i := range *flagRuns {
		m, n, err := h.rawFetch(address, discard)
		if err != nil || n != len(h.corpus) {
			h.b.Fatalf("raw FETCH: %d messages, %v", n, err)
		}
		fetch = append(fetch, m)
		mc, n, err := h.rawFetchCompress(address)
		if err != nil || n != len(h.corpus) {
			h.b.Fatalf("raw FETCH and compress: %d messages, %v", n, err)
		}
		compress = append(compress, mc)
		st := h.newStore(fmt.Sprintf("limits-first-%d", i), []string{address})
		st.setIMAP("connections_per_account", *flagLimitConns)
		snap = append(snap, st.mustRun(time.Time{}, append([]string{"snapshot"}, profileArgs(i, "first")...)...))
		if got := st.last(address); got.Messages != int64(len(h.corpus)) {
			h.b.Fatalf("mtm's first snapshot holds %d messages, want %d", got.Messages, len(h.corpus))
		}
		st.remove()
		st = h.newStore(fmt.Sprintf("limits-empty-%d", i), []string{empty})
		fixed = append(fixed, st.mustRun(time.Time{}, "snapshot"))
		st.remove()
		h.progressf("first: raw FETCH %s, raw FETCH and compress %s (CPU %s), mtm %s (CPU %s), mtm of an empty account %s",
			seconds(m.Wall), seconds(mc.Wall), seconds(mc.CPU), seconds(snap[i].Wall), seconds(snap[i].CPU), seconds(fixed[i].Wall))
	}
	rawMed, mtmMed, compMed := median(walls(fetch)), median(walls(snap)), median(walls(compress))
	ratio := mtmMed.Seconds() / rawMed.Seconds()
	perMsg := median(cpus(snap)).Seconds() * 1000 / float64(len(h.corpus))
	r.table(fmt.Sprintf("First snapshot of the SpamAssassin corpus (%d messages, %s, 5 folders)", len(h.corpus), mib(raw)),
		[]string{"tool", "runs", "median wall", "median CPU", "rate"},
		[][]string{
			{"raw FETCH BODY.PEEK[] (one connection)", runList(fetch), seconds(rawMed), seconds(median(cpus(fetch))),
				fmt.Sprintf("%.0f MiB/s", float64(raw)/(1<<20)/rawMed.Seconds())},
			{fmt.Sprintf("raw FETCH, then SHA-256 and zstd (the blob store's encoder) of each body by %d workers",
				runtime.GOMAXPROCS(0)), runList(compress), seconds(compMed), seconds(median(cpus(compress))),
				fmt.Sprintf("%.0f MiB/s", float64(raw)/(1<<20)/compMed.Seconds())},
			{"mtm snapshot", runList(snap), seconds(mtmMed), seconds(median(cpus(snap))),
				fmt.Sprintf("%.0f MiB/s, %.2f ms CPU per message", float64(raw)/(1<<20)/mtmMed.Seconds(), perMsg)},
			{"mtm snapshot of an empty account (process, new data directory, login)", runList(fixed),
				seconds(median(walls(fixed))), seconds(median(cpus(fixed))), ""},
		},
		fmt.Sprintf("mtm takes **%.2f ×** the raw client's time (target ≤ 2.5 ×), and %.2f × the time of the raw "+
			"client that also hashes and compresses every body, the least a compressing backup does (%.2f × the raw "+
			"client's). The raw clients' CPU is this benchmark process's, measured around their runs.", ratio,
			mtmMed.Seconds()/compMed.Seconds(), compMed.Seconds()/rawMed.Seconds()))
	r.target("first snapshot / raw FETCH", "≤ 2.5 ×", fmt.Sprintf("%.2f ×", ratio), verdict(ratio <= 2.5))
	r.metric(ratio, "first/raw")
	r.metric(mtmMed.Seconds()/compMed.Seconds(), "first/compressing")
}

// limitNightly compares nightly snapshots of unchanged small accounts with
// the raw LIST-STATUS client, at the same concurrency.
func limitNightly(h *harness, r *report) {
	n, per := *flagLimitAccounts, *flagLimitPer
	addresses := make([]string, n)
	for i := range n {
		a := &account{address: fmt.Sprintf("small%04d@example.net", i), tag: fmt.Sprintf("s%d", i),
			folders: limitFolders, next: i * per}
		h.dc.AddUser(h.b, a.address, "pw")
		h.deliver(a, per)
		addresses[i] = a.address
	}
	if got := h.statusAll(addresses, limitFolders); got != n*per {
		h.b.Fatalf("Dovecot has %d messages in the small accounts, want %d", got, n*per)
	}
	h.progressf("%d small accounts of %d folders, %d messages each", n, len(limitFolders), per)
	st := h.newStore("limits-nightly", addresses)
	st.setConcurrency(*flagLimitConc)
	st.setIMAP("connections_per_account", *flagLimitConns)
	first := st.mustRun(time.Time{}, "snapshot")
	h.progressf("nightly: first snapshot of the small accounts %s", seconds(first.Wall))
	// At debug level mtm logs every account that did not take the quick
	// commit, with the reason: an unchanged night should log none.
	st.setLogLevel("debug")
	full := 0
	var list, night []measured
	for i := range *flagRuns {
		m, err := h.rawListStatus(addresses, *flagLimitConc)
		if err != nil {
			h.b.Fatalf("raw LIST-STATUS: %v", err)
		}
		list = append(list, m)
		night = append(night, st.mustRun(time.Time{}, append([]string{"snapshot"}, profileArgs(i, "nightly")...)...))
		for line := range strings.Lines(night[len(night)-1].Output) {
			if strings.Contains(line, "full snapshot") {
				if full < 5 {
					h.progressf("nightly: %s", strings.TrimSpace(line))
				}
				full++
			}
		}
		h.progressf("nightly: raw LIST-STATUS %s, mtm %s (CPU %s)", seconds(m.Wall), seconds(night[len(night)-1].Wall),
			seconds(night[len(night)-1].CPU))
	}
	cat, err := readCatalog(st.data)
	if err != nil {
		h.b.Fatal(err)
	}
	if want := int64(n * (1 + *flagRuns)); cat.Snapshots != want || cat.Entries != int64(n*per) {
		h.b.Fatalf("after the nightly runs: %d snapshots, %d entries; want %d, %d", cat.Snapshots, cat.Entries, want, n*per)
	}
	st.remove()
	rawMed, mtmMed := median(walls(list)), median(walls(night))
	ratio := mtmMed.Seconds() / rawMed.Seconds()
	rate := func(d time.Duration) string { return fmt.Sprintf("%.0f accounts/s", float64(n)/d.Seconds()) }
	r.table(fmt.Sprintf("Nightly snapshot of %d unchanged accounts (%d folders, %d messages each), %d at a time",
		n, len(limitFolders), per, *flagLimitConc),
		[]string{"tool", "runs", "median wall", "median CPU", "rate"},
		[][]string{
			{"raw login + LIST-STATUS + logout", runList(list), seconds(rawMed), seconds(median(cpus(list))), rate(rawMed)},
			{"mtm snapshot", runList(night), seconds(mtmMed), seconds(median(cpus(night))),
				fmt.Sprintf("%s, %.1f ms CPU per account", rate(mtmMed), median(cpus(night)).Seconds()*1000/float64(n))},
		},
		fmt.Sprintf("mtm takes **%.2f ×** the floor (target ≤ 2 ×). Its first snapshot of the accounts took %s. "+
			"Accounts that took a full snapshot instead of the quick commit over the nightly runs: %d (want 0).",
			ratio, seconds(first.Wall), full))
	r.target("nightly unchanged / raw LIST-STATUS", "≤ 2 ×", fmt.Sprintf("%.2f ×", ratio), verdict(ratio <= 2))
	r.metric(ratio, "nightly/raw")
}

// rawFetch logs in to address through the master user and FETCHes every
// message's BODY.PEEK[] of every folder on one connection, handing each
// body to read. It returns the time and this process's CPU over the run,
// and the number of messages read.
func (h *harness) rawFetch(address string, read func(io.Reader) error) (measured, int, error) {
	start, cpu0 := time.Now(), selfCPU()
	c, err := h.rawLogin(address)
	if err != nil {
		return measured{}, 0, err
	}
	n := 0
	for _, f := range limitFolders {
		if _, err := c.Select(f, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			return measured{}, n, fmt.Errorf("examine %s: %w", f, err)
		}
		all := imap.UIDSet{}
		all.AddRange(1, 0)
		cmd := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				if body, ok := item.(imapclient.FetchItemDataBodySection); ok && body.Literal != nil {
					if err := read(body.Literal); err != nil {
						return measured{}, n, errors.Join(err, cmd.Close())
					}
					n++
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return measured{}, n, fmt.Errorf("fetch %s: %w", f, err)
		}
	}
	if err := c.Logout().Wait(); err != nil {
		return measured{}, n, err
	}
	return measured{Wall: time.Since(start), CPU: selfCPU() - cpu0}, n, c.Close()
}

// discard reads a body and throws it away: the raw client.
func discard(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// compressing is the raw client plus the least a deduplicating,
// compressing backup does with each body: read it whole, hash it
// (SHA-256) and compress it, unless seen before, with the blob store's encoder
// (blobstore.NewEncoder at its default level), by one worker per core
// while the connection reads on. Nothing is stored, looked up or parsed.
type compressing struct {
	bodies chan []byte
	done   sync.WaitGroup
	stored atomic.Int64
}

func newCompressing() (*compressing, error) {
	c := &compressing{bodies: make(chan []byte, 64)}
	for range runtime.GOMAXPROCS(0) {
		enc, err := blobstore.NewEncoder(blobstore.DefaultLevel)
		if err != nil {
			return nil, err
		}
		c.done.Add(1)
		go func() {
			defer c.done.Done()
			var dst []byte
			seen := make(map[[sha256.Size]byte]bool)
			for b := range c.bodies {
				if sum := sha256.Sum256(b); !seen[sum] { // as a backup dedups (within a worker here)
					seen[sum] = true
					dst = enc.EncodeAll(b, dst[:0])
					c.stored.Add(int64(len(dst)))
				}
			}
		}()
	}
	return c, nil
}

func (c *compressing) read(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err == nil {
		c.bodies <- b
	}
	return err
}

// wait ends the workers once every body is compressed.
func (c *compressing) wait() {
	close(c.bodies)
	c.done.Wait()
}

// rawFetchCompress is rawFetch with every body hashed and compressed; the
// time includes the last body's compression.
func (h *harness) rawFetchCompress(address string) (measured, int, error) {
	c, err := newCompressing()
	if err != nil {
		return measured{}, 0, err
	}
	start, cpu0 := time.Now(), selfCPU()
	_, n, err := h.rawFetch(address, c.read)
	c.wait()
	if c.stored.Load() == 0 {
		err = errors.Join(err, errors.New("nothing was compressed"))
	}
	return measured{Wall: time.Since(start), CPU: selfCPU() - cpu0}, n, err
}

// rawListStatus does, for every address, conc at a time: log in through
// the master user, LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT
// UIDVALIDITY HIGHESTMODSEQ)), log out: the least a backup can ask to know
// that nothing changed.
func (h *harness) rawListStatus(addresses []string, conc int) (measured, error) {
	start, cpu0 := time.Now(), selfCPU()
	work := make(chan string)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				if err := h.listStatusOnce(a); err != nil {
					errs <- fmt.Errorf("%s: %w", a, err)
					for range work {
					}
					return
				}
			}
		}()
	}
	for _, a := range addresses {
		work <- a
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return measured{}, err
	}
	return measured{Wall: time.Since(start), CPU: selfCPU() - cpu0}, nil
}

func (h *harness) listStatusOnce(address string) error {
	c, err := h.rawLogin(address)
	if err != nil {
		return err
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{
		NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: true}}).Collect()
	if err != nil {
		return errors.Join(err, c.Close())
	}
	if len(list) != len(limitFolders) || list[0].Status == nil {
		return errors.Join(fmt.Errorf("LIST-STATUS answered %d folders, status %v", len(list), list[0].Status), c.Close())
	}
	return errors.Join(c.Logout().Wait(), c.Close())
}

// rawLogin connects and logs in as address through the master user.
func (h *harness) rawLogin(address string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(h.dc.Addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(address+"*"+h.dc.MasterUser, h.dc.MasterPassword).Wait(); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

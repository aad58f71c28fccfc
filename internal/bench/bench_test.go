package bench

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// Scenario sizes. The defaults are the issue's; smaller values make quick
// trial runs (go test ... -args -mtm.messages=2000).
var (
	flagMessages   = flag.Int("mtm.messages", 50000, "messages of the large account (scenarios 1-4)")
	flagRuns       = flag.Int("mtm.runs", 3, "measured runs of each tool for the first and nightly snapshots")
	flagDays       = flag.Int("mtm.days", 15, "simulated days of churn (scenario 3)")
	flagBigMiB     = flag.Int("mtm.bigmib", 100, "size in MiB of the one large message (scenario 4)")
	flagAccounts   = flag.Int("mtm.accounts", 1000, "small accounts (scenario 5)")
	flagPerAccount = flag.Int("mtm.peraccount", 200, "messages per small account (scenario 5)")
	flagScenarios  = flag.String("mtm.scenarios", "first,nightly,memory,churn,many",
		"scenarios to run; nightly and churn need first")
)

// BenchmarkStore runs every scenario once, side by side on one Dovecot, and
// prints the results as Markdown on standard output. Progress goes to
// standard error. It ignores b.N: run it with -benchtime 1x.
func BenchmarkStore(b *testing.B) {
	want := map[string]bool{}
	for _, s := range strings.Split(*flagScenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}
	h := newHarness(b)
	r := &report{b: b}
	r.sections = append(r.sections, fmt.Sprintf("Load average (1, 5, 15 min) at the start: %s.\n", loadAvg()))
	alice := &account{address: "alice@example.com", tag: "alice", folders: benchFolders}
	needLarge := want["first"] || want["nightly"] || want["churn"]
	if needLarge {
		h.dc.AddUser(b, alice.address, "pw")
		h.progressf("delivering %d messages to %s", *flagMessages, alice.address)
		raw := h.deliver(alice, *flagMessages)
		if got := h.folderCounts(alice.address); got != *flagMessages {
			b.Fatalf("%s: Dovecot has %d messages, want %d", alice.address, got, *flagMessages)
		}
		h.progressf("delivered %s", mib(raw))
		first := scenarioFirst(h, r, alice, raw)
		if want["nightly"] {
			scenarioNightly(h, r, alice, first)
		}
		if want["memory"] {
			scenarioMemory(h, r)
		}
		if want["churn"] {
			scenarioChurn(h, r, alice, first)
		}
	} else if want["memory"] {
		scenarioMemory(h, r)
	}
	if want["many"] {
		scenarioMany(h, r)
	}
	r.dovecotErrors(h)
	r.sections = append(r.sections, fmt.Sprintf("Load average at the end: %s.\n", loadAvg()))
	r.print(os.Stdout)
}

// report collects the Markdown sections and the targets.
type report struct {
	b        *testing.B
	sections []string
	targets  [][]string
}

// table adds a section with a Markdown table and notes below it.
func (r *report) table(title string, header []string, rows [][]string, notes ...string) {
	var s strings.Builder
	fmt.Fprintf(&s, "### %s\n\n", title)
	writeRow(&s, header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	writeRow(&s, sep)
	for _, row := range rows {
		writeRow(&s, row)
	}
	for _, n := range notes {
		fmt.Fprintf(&s, "\n%s\n", n)
	}
	r.sections = append(r.sections, s.String())
	fmt.Fprintf(os.Stderr, "\n%s\n", s.String())
}

func writeRow(w io.Writer, cells []string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

// target records one of the targets with the measured figure and
// whether it was met ("met", "missed" or why it was not measured).
func (r *report) target(name, want, got, verdict string) {
	r.targets = append(r.targets, []string{name, want, got, verdict})
	fmt.Fprintf(os.Stderr, "bench: target %s: want %s, got %s: %s\n", name, want, got, verdict)
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**missed**"
}

// metric reports a figure to the benchmark framework too, so that it shows
// on the benchmark's result line.
func (r *report) metric(v float64, unit string) { r.b.ReportMetric(v, unit) }

// dovecotErrors notes errors in the Dovecot log: a benchmark that made the
// server complain measured something else.
func (r *report) dovecotErrors(h *harness) {
	log, err := os.ReadFile(h.dc.Dir + "/dovecot.log")
	if err != nil {
		r.b.Fatalf("reading dovecot log: %v", err)
	}
	var errs []string
	for line := range strings.Lines(string(log)) {
		if strings.Contains(line, "Error:") || strings.Contains(line, "Panic:") || strings.Contains(line, "Fatal:") {
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	note := "Dovecot logged no errors during the run."
	if len(errs) > 0 {
		note = fmt.Sprintf("Dovecot logged %d errors; the first: `%s`", len(errs), errs[0])
	}
	r.sections = append(r.sections, note+"\n")
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\n## Results\n\n")
	for _, s := range r.sections {
		fmt.Fprintf(w, "%s\n", s)
	}
	fmt.Fprintf(w, "### Targets\n\n")
	writeRow(w, []string{"target", "wanted", "measured", "verdict"})
	writeRow(w, []string{"---", "---", "---", "---"})
	for _, t := range r.targets {
		writeRow(w, t)
	}
	fmt.Fprintln(w)
}

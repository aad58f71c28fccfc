// Command mtm is Mail Time Machine: nightly, deduplicated snapshots of every
// mailbox of a mail provider, browsable and restorable.
//
// Each subcommand lives in its own cmd_<verb>.go file and stays thin: it
// parses flags, loads the configuration and calls into internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

var commands = map[string]command{
	"snapshot":  {"take a snapshot of every account (or of --account ADDR ...)", runSnapshot},
	"snapshots": {"list an account's snapshots", runSnapshots},
	"export":    {"write a snapshot's messages as Maildir or mbox", runExport},
	"check":     {"check the catalog and the blobs (--read-data to re-hash them)", runCheck},
	"serve":     {"serve the read-only webmail on the config's listen address", runServe},
	"admin":     {"manage admin accounts: admin add --email ADDR [--domain D ...], admin list, admin remove --email ADDR", runAdmin},
	"demo":      {"run the whole product on sample mail: IMAP and SMTP in-process, 15 days of history (--data, --listen)", runDemo},
	"restore":   {"bring a snapshot's missing messages and folders back into the live account (--dry-run)", runRestore},
	"prune":     {"drop snapshots older than retention_days and free what only they used (--dry-run)", runPrune},
	"config":    {"config check: validate the configuration file and the files it names, by key", runConfig},
	"migrate":   {"apply the catalog's pending schema migrations (--dry-run lists them)", runMigrate},
	"catalog":   {"catalog copy --from DATA_DIR --to postgres://...: copy an embedded catalog into an empty PostgreSQL one", runCatalog},
	"blobs":     {"blobs copy [--to s3://BUCKET/PREFIX]: copy the local blob store into S3 (resumable)", runBlobs},
	"jobs":      {"list a PostgreSQL catalog's jobs (--state S, --json), or jobs retry ID", runJobs},
	"audit":     {"audit export --since DATE [--until DATE]: write the audit log's events as JSON lines", runAudit},
}

// environment is what a command may touch of the process.
type environment struct {
	stdin          io.Reader // nil reads as empty
	stdout, stderr io.Writer
	getenv         []string
	// ready, if set, is told the address `mtm serve` listens on,
	// opsReady its operators' listener's, and imapReady its IMAP
	// server's (told before ready).
	ready     func(addr string)
	opsReady  func(addr string)
	imapReady func(addr string)
}

// errUsage marks errors that are the caller's, answered with exit code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &environment{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Environ()}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, env *environment, args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		writeVersion(env.stdout)
		return 0
	}
	if len(args) > 1 && args[0] == "help" { // mtm help CMD: the command's own -h
		if _, ok := commands[args[1]]; ok {
			args = []string{args[1], "-h"}
		}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			usage(env.stderr)
			return 2
		}
		usage(env.stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "mtm: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return 2
	}
	if err := cmd.run(ctx, env, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(env.stderr, "mtm %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mtm <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'mtm help <command>' for what a command does, its flags, examples and exit codes;")
	fmt.Fprintln(w, "'mtm --version' for this binary's version.")
}

// newFlags returns a flag set with the common --config flag.
// flags are a command's flags, and where its help goes.
type flags struct {
	*flag.FlagSet
	env  *environment
	name string // "admin add"
}

func newFlags(env *environment, name string) (*flags, *string) {
	fs := &flags{FlagSet: flag.NewFlagSet("mtm "+name, flag.ContinueOnError), env: env, name: name}
	fs.SetOutput(env.stderr)
	// A wrong flag: the flags, on standard error (-h prints the whole
	// help on standard output: parse).
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage of mtm %s ('mtm help %s' says more):\n", name, strings.Fields(name)[0])
		fs.PrintDefaults()
	}
	cfg := fs.String("config", "./mtm.toml", "configuration file")
	return fs, cfg
}

// parse parses flags, marking bad ones as usage errors. -h, -help or
// --help prints the command's help (writeHelp) and returns flag.ErrHelp.
func parse(fs *flags, args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			writeHelp(fs.env.stdout, fs.name, fs.FlagSet)
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

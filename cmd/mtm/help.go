package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// help is what `mtm help CMD` and `mtm CMD -h` say about a command beyond
// its flags: how it is called, what it does, examples, and what its exit
// codes mean.
type help struct {
	usage    string // the command lines, one per line
	about    string // what it does, for an operator
	examples string // command lines with a comment each
	exits    string // exit codes beyond 0 / 1 / 2; "" for the usual
}

// exitCodes are what every command's exit codes mean.
const exitCodes = `exit codes:
  0  done
  1  failed: the message says why (nothing half done is left behind)
  2  wrong usage: a flag or argument is wrong or missing`

var helps = map[string]help{
	"snapshot": {usage: "mtm snapshot [--account ADDR ...] [--cpuprofile FILE] [--config FILE]",
		about: "Takes a snapshot of every account of the accounts file now (or of the --account ones): every folder, " +
			"subscribed or not, every message byte for byte, deduplicated against what is stored. It is what the " +
			"night does; run it by hand to back up at once or to test a configuration.",
		examples: "mtm snapshot --config /etc/mtm/mtm.toml                          # every account\n" +
			"mtm snapshot --config /etc/mtm/mtm.toml --account alice@example.com",
		exits: "  1  at least one account's snapshot failed (the others are committed; the next night retries)"},
	"snapshots": {usage: "mtm snapshots --account ADDR [--all] [--json] [--config FILE]",
		about: "Lists an account's committed snapshots (--all: failed and running ones too): day, time, " +
			"state, messages and size. Read only.",
		examples: "mtm snapshots --config /etc/mtm/mtm.toml --account alice@example.com\n" +
			"mtm snapshots --config /etc/mtm/mtm.toml --account alice@example.com --json | jq '.[0]'"},
	"export": {usage: "mtm export --account ADDR --snapshot ID|YYYY-MM-DD --out DIR [--folder F ...] [--format maildir|mbox] [--config FILE]",
		about: "Writes the messages of an account's snapshot of a day as a Maildir tree or mbox files, byte for " +
			"byte, for a user who wants their mail as files. Read only for the backup.",
		examples: "mtm export --config /etc/mtm/mtm.toml --account alice@example.com --snapshot 2026-11-30 --out /tmp/alice"},
	"check": {usage: "mtm check [--read-data[=PERCENT]] [--config FILE]",
		about: "Checks the catalog's invariants and that every blob it names is stored; with --read-data, reads " +
			"every blob (or PERCENT of them, chosen at random) back and checks its hash. Read only.",
		examples: "mtm check --config /etc/mtm/mtm.toml                  # quick, nightly in cron\n" +
			"mtm check --config /etc/mtm/mtm.toml --read-data=10   # a tenth of the blobs, weekly",
		exits: "  1  a problem was found: each is printed on its own line"},
	"serve": {usage: "mtm serve [--config FILE]",
		about: "Runs the service: the webmail and the admin panel on listen, the operators' endpoints on " +
			"[ops] listen, the nightly snapshots and prune, the restores and the emails. Stops cleanly on SIGTERM " +
			"within [http] shutdown_timeout.",
		examples: "mtm serve --config /etc/mtm/mtm.toml"},
	"admin": {usage: "mtm admin add --email ADDR [--domain D ...] [--language en|it] [--config FILE]\n" +
		"mtm admin list [--config FILE]\nmtm admin remove --email ADDR [--config FILE]\n" +
		"mtm admin reset-2fa --email ADDR [--config FILE]",
		about: "Manages the admins who confirm or reject restore requests: an admin with domains decides for " +
			"the accounts of those domains, one without for every domain. add reads the password from the " +
			"terminal (twice) or the first line of standard input; it must have 10 characters and not be easy " +
			"to guess. list flags admins whose address cannot receive email. reset-2fa clears an admin's " +
			"second factor (a lost phone): their next login sets it up again.",
		examples: "mtm admin add --config /etc/mtm/mtm.toml --email boss@example.com --domain example.com\n" +
			"printf '%s\\n' \"$PW\" | mtm admin add --config /etc/mtm/mtm.toml --email root@example.net\n" +
			"mtm admin list --config /etc/mtm/mtm.toml\n" +
			"mtm admin remove --config /etc/mtm/mtm.toml --email boss@example.com\n" +
			"mtm admin reset-2fa --config /etc/mtm/mtm.toml --email boss@example.com"},
	"demo": {usage: "mtm demo [--data DIR] [--listen HOST:PORT] [--messages N] [--dovecot]",
		about: "Runs the whole product on sample mail, with no configuration: an IMAP server (in process, or a " +
			"real Dovecot with --dovecot), 15 days of history, an SMTP catcher whose emails show on a page, and " +
			"the webmail and admin panel. It prints the addresses and passwords to log in with.",
		examples: "go run ./cmd/mtm demo\nmtm demo --listen 127.0.0.1:9000 --data /tmp/mtm-demo"},
	"restore": {usage: "mtm restore --account ADDR --snapshot ID|YYYY-MM-DD [--folder F ...] [--target original|separate] [--dry-run] [--config FILE]",
		about: "Brings back into the live account what its snapshot of a day has and the account lacks: " +
			"messages and folders; what is still there is left as it is, nothing is doubled. --dry-run says " +
			"what would come back and changes nothing. (Users ask through the webmail; this is the operator's way.)",
		examples: "mtm restore --config /etc/mtm/mtm.toml --account alice@example.com --snapshot 2026-11-30 --dry-run\n" +
			"mtm restore --config /etc/mtm/mtm.toml --account alice@example.com --snapshot 2026-11-30 --folder INBOX"},
	"prune": {usage: "mtm prune [--dry-run] [--wait DURATION] [--config FILE]",
		about: "Drops the snapshots older than retention_days (each account keeps its last good one), deletes " +
			"what only they used, and the audit events older than [audit] retention_days. The night does it; " +
			"--dry-run prints the plan and changes nothing.",
		examples: "mtm prune --config /etc/mtm/mtm.toml --dry-run\nmtm prune --config /etc/mtm/mtm.toml"},
	"config": {usage: "mtm config check [--config FILE]",
		about: "Validates the configuration file and its environment overrides, key by key, then what it " +
			"points at on this machine (data directory, accounts and password files, TLS files). It connects to " +
			"nothing.",
		examples: "sudo -u mtm env $(cat /etc/mtm/mtm.env) mtm config check --config /etc/mtm/mtm.toml",
		exits:    "  1  a problem was found: each is printed on its own line, naming its key"},
	"migrate": {usage: "mtm migrate [--dry-run] [--config FILE]",
		about: "Applies the catalog's pending schema migrations (when [catalog] auto_migrate is off, as on " +
			"PostgreSQL); --dry-run lists them.",
		examples: "mtm migrate --config /etc/mtm/mtm.toml --dry-run\nmtm migrate --config /etc/mtm/mtm.toml"},
	"catalog": {usage: "mtm catalog copy --from DATA_DIR --to postgres://... [--config FILE]",
		about: "Copies an embedded (SQLite) catalog into an empty PostgreSQL one, to move an installation to " +
			"a cluster. The source is only read.",
		examples: "mtm catalog copy --config /etc/mtm/mtm.toml --from /var/lib/mtm --to postgres://mtm@db/mtm"},
	"blobs": {usage: "mtm blobs copy [--to s3://BUCKET/PREFIX] [--config FILE]",
		about: "Copies the local blob store into S3-compatible storage; it can be stopped and run again, and " +
			"carries on where it stopped.",
		examples: "mtm blobs copy --config /etc/mtm/mtm.toml --to s3://mtm-mail/prod"},
	"jobs": {usage: "mtm jobs [--state S] [--limit N] [--json] [--config FILE]\nmtm jobs retry ID [--config FILE]",
		about: "Lists a PostgreSQL catalog's jobs (snapshots, restores, prunes) newest first, or runs a " +
			"failed one again.",
		examples: "mtm jobs --config /etc/mtm/mtm.toml --state failed\nmtm jobs retry 4211 --config /etc/mtm/mtm.toml"},
	"audit": {usage: "mtm audit export --since DATE [--until DATE] [--config FILE]",
		about: "Writes the audit log's events (logins, downloads, restore requests and decisions, restores) " +
			"from --since up to --until as JSON lines, oldest first, for an archive or a SIEM before " +
			"[audit] retention_days deletes them. The export is itself recorded.",
		examples: "mtm audit export --config /etc/mtm/mtm.toml --since 2026-11-01 --until 2026-12-01 > audit-2026-11.jsonl"},
}

// writeHelp writes command name's help, with the flags of fs when it has
// any (a command with subcommands has none of its own).
func writeHelp(w io.Writer, name string, fs *flag.FlagSet) {
	h := helps[strings.Fields(name)[0]]
	fmt.Fprintf(w, "usage:\n%s\n\n%s\n", indent(h.usage), wrap(h.about, 76))
	if fs != nil {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fmt.Fprintf(w, "\nexamples:\n%s\n\n%s\n", indent(h.examples), exitCodes)
	if h.exits != "" {
		fmt.Fprintf(w, "and here:\n%s\n", h.exits)
	}
}

// subcommandHelp answers -h, --help and help as the first argument of a
// command made of subcommands: its help, and flag.ErrHelp (exit 0).
func subcommandHelp(env *environment, name string, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		writeHelp(env.stdout, name, nil)
		return flag.ErrHelp
	}
	return nil
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// wrap folds text at width columns.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for _, w := range strings.Fields(text) {
		if line > 0 && line+1+len(w) > width {
			b.WriteString("\n")
			line = 0
		} else if line > 0 {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// version is set at build time (-ldflags "-X main.version=v1.2.3"); else
// the module's version from the build information.
var version = ""

// writeVersion prints what this binary is: its version, the commit it was
// built from (and whether the tree had changes), and the Go that built it.
func writeVersion(w io.Writer) {
	v, commit, when, dirty := version, "unknown", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if dirty {
		commit += " with local changes"
	}
	if when != "" {
		commit += ", " + when
	}
	fmt.Fprintf(w, "mtm %s (commit %s) %s %s/%s\n", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

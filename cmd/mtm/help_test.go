package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestHelp: every command's help (mtm help CMD, and CMD -h) says how it is
// called, what it does, its flags, examples and exit codes, on standard
// output with exit 0; commands made of subcommands answer --help too;
// --version names the version, the commit and the Go.
func TestHelp(t *testing.T) {
	t.Parallel()
	call := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), &environment{stdout: &out, stderr: &errOut}, args)
		return code, out.String(), errOut.String()
	}
	for name := range commands {
		h, ok := helps[name]
		if !ok || h.usage == "" || len(h.about) < 60 || !strings.Contains(h.examples, "mtm ") {
			t.Errorf("%s: no full help: %+v", name, h)
			continue
		}
		for _, args := range [][]string{{"help", name}, {name, "-h"}, {name, "--help"}} {
			code, out, errOut := call(args...)
			if code != 0 || errOut != "" {
				t.Errorf("mtm %v: exit %d, stderr %q", args, code, errOut)
			}
			for _, want := range []string{"usage:\n  mtm " + name, "examples:\n  ", "exit codes:\n  0  done"} {
				if !strings.Contains(out, want) {
					t.Errorf("mtm %v lacks %q:\n%s", args, want, out)
				}
			}
		}
	}
	// A command with flags lists them in its help.
	if _, out, _ := call("help", "prune"); !strings.Contains(out, "flags:\n") || !strings.Contains(out, "-dry-run") {
		t.Errorf("prune's help lacks its flags:\n%s", out)
	}
	if code, out, _ := call("--version"); code != 0 || !strings.HasPrefix(out, "mtm ") || !strings.Contains(out, "(commit ") ||
		!strings.Contains(out, " go1.") {
		t.Errorf("--version: exit %d %q", code, out)
	}
	if code, out, _ := call("help"); code != 0 || !strings.Contains(out, "mtm help <command>") {
		t.Errorf("help: exit %d %q", code, out)
	}
	if code, _, errOut := call("snapshot", "--nope"); code != 2 || !strings.Contains(errOut, "'mtm help snapshot' says more") {
		t.Errorf("a wrong flag: exit %d %q", code, errOut)
	}
}

// TestNoConfigFile: a command run where there is no configuration file
// says so and exits 1, and makes no catalog anywhere (before, it made an
// empty one in the default data_dir, /var/lib/mtm).
func TestNoConfigFile(t *testing.T) {
	t.Chdir(t.TempDir())
	_, statErr := os.Stat("/var/lib/mtm")
	for _, args := range [][]string{{"snapshots", "--account", "alice@example.com"}, {"check"}, {"admin", "list"}, {"prune", "--dry-run"}} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), &environment{stdout: &out, stderr: &errOut}, args)
		if code != 1 || !strings.Contains(errOut.String(), "no configuration file ./mtm.toml: give one with --config FILE") {
			t.Errorf("mtm %v without a config: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
	}
	if os.IsNotExist(statErr) {
		if _, err := os.Stat("/var/lib/mtm"); !os.IsNotExist(err) {
			t.Errorf("a command without a configuration made /var/lib/mtm: %v", err)
		}
	}
}

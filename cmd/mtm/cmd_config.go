package main

import (
	"context"
	"fmt"

	"mtm/internal/configcheck"
)

// runConfig is `mtm config check`: it prints "ok" with a summary, or every
// problem on its own line.
func runConfig(ctx context.Context, env *environment, args []string) error {
	if err := subcommandHelp(env, "config", args); err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("%w: want 'mtm config check [--config FILE]'", errUsage)
	}
	fs, cfgPath := newFlags(env, "config check")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	clk, err := clockFor(env)
	if err != nil {
		return err
	}
	rep := configcheck.Check(ctx, *cfgPath, env.getenv, clk)
	if !rep.OK() {
		for _, p := range rep.Problems {
			fmt.Fprintln(env.stdout, p)
		}
		noun := "problems"
		if len(rep.Problems) == 1 {
			noun = "problem"
		}
		return fmt.Errorf("%s: %d %s", *cfgPath, len(rep.Problems), noun)
	}
	fmt.Fprintf(env.stdout, "ok: %s\n", *cfgPath)
	for _, line := range rep.Summary {
		fmt.Fprintln(env.stdout, "  "+line)
	}
	return nil
}

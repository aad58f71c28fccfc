package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"mtm/internal/bytesize"
	"mtm/internal/checker"
)

func runCheck(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "check")
	var readData percentFlag
	fs.Var(&readData, "read-data", "also read back, decompress and re-hash blobs: all, or `PERCENT` of them (--read-data=10)")
	if err := parse(fs, args); err != nil {
		return err
	}
	op, err := openCommand(ctx, env, *cfgPath, openOptions{})
	if err != nil {
		return err
	}
	st := op.st
	defer st.Close() //nolint:errcheck // read only
	rep, err := checker.Check(ctx, st.Catalog, st.Blobs, checker.Options{ReadDataPercent: int(readData)})
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(env.stdout, "problem:", p)
	}
	fmt.Fprintf(env.stdout, "checked the catalog's invariants and %d contents (%d referenced, %s; %d unreferenced); "+
		"read back %d blobs (%s)\n", rep.Contents, rep.Referenced, bytesize.Format(rep.BlobBytes), rep.Unreferenced,
		rep.BlobsRead, bytesize.Format(rep.BytesRead))
	if rep.UnindexedObjects > 0 {
		fmt.Fprintf(env.stdout, "%d objects in the bucket (%s) are named by no index row: left by a writer that "+
			"died, or waiting for their grace period; prune removes them: %s\n", rep.UnindexedObjects,
			bytesize.Format(rep.UnindexedBytes), strings.Join(rep.UnindexedKeys, ", "))
	}
	if !rep.OK() {
		return fmt.Errorf("%d problems found", len(rep.Problems))
	}
	fmt.Fprintln(env.stdout, "no problems found")
	return nil
}

// percentFlag is --read-data: alone it means 100, or --read-data=PERCENT.
type percentFlag int

func (p *percentFlag) IsBoolFlag() bool { return true }
func (p *percentFlag) String() string   { return strconv.Itoa(int(*p)) }

func (p *percentFlag) Set(s string) error {
	switch s {
	case "true":
		*p = 100
		return nil
	case "false":
		*p = 0
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil || n < 0 || n > 100 {
		return fmt.Errorf("want a percentage from 0 to 100, have %q", s)
	}
	*p = percentFlag(n)
	return nil
}

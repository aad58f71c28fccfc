package main

import (
	"strings"
	"testing"
	"time"
)

// TestClockFor: MTMTEST_NOW starts the clock at a time now; with
// MTMTEST_NOW_AT, at a given system time, so processes started apart share
// one time line; a malformed value is an error naming the variable.
func TestClockFor(t *testing.T) {
	start := time.Date(2026, 12, 4, 3, 15, 35, 0, time.UTC)
	clk, err := clockFor(&environment{getenv: []string{nowEnv + "=" + start.Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := clk.Now().Sub(start); d < 0 || d > time.Minute {
		t.Errorf("MTMTEST_NOW alone: the clock reads %s, want about %s", clk.Now(), start)
	}
	anchor := time.Now().Add(-time.Hour)
	clk, err = clockFor(&environment{getenv: []string{nowEnv + "=" + start.Format(time.RFC3339Nano),
		nowAtEnv + "=" + anchor.Format(time.RFC3339Nano)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := clk.Now().Sub(start.Add(time.Since(anchor))); d < -time.Second || d > time.Second {
		t.Errorf("with MTMTEST_NOW_AT an hour ago: the clock reads %s, want %s", clk.Now(), start.Add(time.Hour))
	}
	if _, err := clockFor(&environment{getenv: []string{nowEnv + "=" + start.Format(time.RFC3339), nowAtEnv + "=yesterday"}}); err == nil ||
		!strings.Contains(err.Error(), nowAtEnv) {
		t.Errorf("a malformed MTMTEST_NOW_AT: %v, want an error naming it", err)
	}
	if clk, err := clockFor(&environment{getenv: []string{"MTMTEST_NOW_ATX=1"}}); err != nil || time.Since(clk.Now()).Abs() > time.Minute {
		t.Errorf("no MTMTEST_NOW: %v, %v; want the system clock", clk, err)
	}
}

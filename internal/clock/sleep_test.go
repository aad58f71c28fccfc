package clock

import (
	"context"
	"testing"
	"time"
)

func TestFakeSleepMovesForwardOnly(t *testing.T) {
	start := time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	ctx := context.Background()
	if err := f.SleepUntil(ctx, start.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, want := f.Now(), start.Add(90*time.Minute); !got.Equal(want) {
		t.Fatalf("after SleepUntil: %v, want %v", got, want)
	}
	if err := f.SleepUntil(ctx, start); err != nil {
		t.Fatal(err)
	}
	if got, want := f.Now(), start.Add(90*time.Minute); !got.Equal(want) {
		t.Fatalf("SleepUntil into the past moved the clock to %v", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.SleepUntil(cctx, start.Add(5*time.Hour)); err == nil {
		t.Fatal("SleepUntil with an ended context returned nil")
	}
	if got, want := f.Now(), start.Add(90*time.Minute); !got.Equal(want) {
		t.Fatalf("cancelled SleepUntil moved the clock to %v", got)
	}
}

func TestRealSleepWaitsAndCancels(t *testing.T) {
	s := SleeperOf(Real{})
	ctx := context.Background()
	until := s.Now().Add(20 * time.Millisecond)
	if err := s.SleepUntil(ctx, until); err != nil {
		t.Fatal(err)
	}
	if now := s.Now(); now.Before(until) {
		t.Fatalf("woke at %v, before %v", now, until)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := s.SleepUntil(cctx, s.Now().Add(time.Hour)); err == nil {
		t.Fatal("SleepUntil an hour away returned nil before its context ended")
	}
}

type plainClock struct{ Clock }

func TestSleeperOfWrapsPlainClocks(t *testing.T) {
	f := NewFake(time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC))
	if SleeperOf(f) != Sleeper(f) {
		t.Fatal("SleeperOf(Fake) did not return the fake itself")
	}
	shifted := ShiftedTo(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := SleeperOf(plainClock{shifted})
	if err := s.SleepUntil(context.Background(), shifted.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
}

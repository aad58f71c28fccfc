package clock

import (
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	start := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	f.Advance(25 * time.Hour)
	if got, want := f.Now(), start.Add(25*time.Hour); !got.Equal(want) {
		t.Fatalf("after Advance: %v, want %v", got, want)
	}
	later := start.AddDate(0, 0, 15)
	f.Set(later)
	if got := f.Now(); !got.Equal(later) {
		t.Fatalf("after Set: %v, want %v", got, later)
	}
}

func TestRealMoves(t *testing.T) {
	var c Clock = Real{}
	a := c.Now()
	if a.IsZero() {
		t.Fatal("Real.Now returned the zero time")
	}
}

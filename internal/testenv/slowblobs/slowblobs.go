// Package slowblobs is test support: a blob store whose every read waits
// for a round trip, as S3's ranged GETs do, and that asks for reads ahead
// (blobstore.Ahead), for the tests of the read-ahead's callers. It counts
// the reads under way at once and can fail chosen reads.
package slowblobs

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"mtm/internal/blobstore"
)

// Store wraps Opener. The zero Delay and Ahead read at once and ask for
// no reads ahead.
type Store struct {
	blobstore.Opener
	Ahead int           // what ReadsAhead answers
	Delay time.Duration // each read's round trip

	mu       sync.Mutex
	failOnce map[blobstore.Hash]bool
	failed   int
	open     int // reads under way
	most     int // the most at once
	opens    int // reads begun
}

// ReadsAhead answers Ahead.
func (s *Store) ReadsAhead() int { return s.Ahead }

// FailOnce makes the next read of h fail.
func (s *Store) FailOnce(h blobstore.Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failOnce == nil {
		s.failOnce = map[blobstore.Hash]bool{}
	}
	s.failOnce[h] = true
}

// Open waits Delay (or until ctx ends), then opens h, unless its read
// is to fail.
func (s *Store) Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error) {
	s.mu.Lock()
	s.open++
	s.opens++
	s.most = max(s.most, s.open)
	fail := s.failOnce[h]
	if fail {
		delete(s.failOnce, h)
		s.failed++
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(s.Delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if fail {
		return nil, errors.New("503 Slow Down")
	}
	return s.Opener.Open(ctx, h)
}

// Counts are what a Store saw since it was made or last reset.
type Counts struct {
	Most   int // reads under way at once, at most
	Opens  int // reads begun
	Failed int // reads failed on purpose
}

// Reset returns the counts and starts them again; reads still to fail
// are forgotten.
func (s *Store) Reset() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counts{Most: s.most, Opens: s.opens, Failed: s.failed}
	s.most, s.opens, s.failed, s.failOnce = 0, 0, 0, nil
	return c
}

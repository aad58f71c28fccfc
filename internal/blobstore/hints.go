package blobstore

import "sync"

// maxHints bounds the locations Prefetch keeps (about 100 bytes each).
const maxHints = 1 << 18

// hints are the locations Prefetch looked up ahead, of type T (a local
// pack location, or an S3 entry), each used once. The store's mutex
// guards them.
type hints[T any] struct {
	m       map[Hash]T
	deletes uint64 // Deletes begun: a Prefetch across one keeps nothing
}

func newHints[T any]() hints[T] { return hints[T]{m: map[Hash]T{}} }

// take returns the location of h, if kept, and forgets it: a retry (its
// pack compacted away) asks the index.
func (k *hints[T]) take(h Hash) (T, bool) {
	v, ok := k.m[h]
	if ok {
		delete(k.m, h)
	}
	return v, ok
}

// forget drops the location of a blob being deleted, and makes a Prefetch
// under way keep nothing.
func (k *hints[T]) forget(h Hash) {
	delete(k.m, h)
	k.deletes++
}

// prefetch is Prefetch of both stores: it looks up, with lookup and
// without holding mu (the store's mutex, which guards k), as many of hs as
// there is room for, and keeps what it found, up to maxHints, unless a
// Delete began meanwhile (what it found may name that blob).
func (k *hints[T]) prefetch(mu *sync.Mutex, hs []Hash, lookup func([]Hash) (map[Hash]T, error)) error {
	mu.Lock()
	room, gen := maxHints-len(k.m), k.deletes
	mu.Unlock()
	if room <= 0 {
		return nil
	}
	found, err := lookup(hs[:min(len(hs), room)])
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if k.deletes != gen {
		return nil
	}
	for h, v := range found {
		if len(k.m) >= maxHints {
			break
		}
		k.m[h] = v
	}
	return nil
}

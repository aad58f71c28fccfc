package blobstore

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

// begin returns how many more locations may be kept, and the generation a
// Prefetch starting now passes to keep.
func (k *hints[T]) begin() (room int, gen uint64) { return maxHints - len(k.m), k.deletes }

// keep adds the locations found, up to maxHints, unless a Delete began
// since gen: they may name its blob.
func (k *hints[T]) keep(gen uint64, found map[Hash]T) {
	if k.deletes != gen {
		return
	}
	for h, v := range found {
		if len(k.m) >= maxHints {
			return
		}
		k.m[h] = v
	}
}

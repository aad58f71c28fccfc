package webmail

import (
	"container/list"
	"sync"

	"golang.org/x/sync/singleflight"

	"mtm/internal/catalog"
	"mtm/internal/render"
)

// lru is a small least-recently-used cache, safe for concurrent use.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent; values are *entry[K, V]
	byKey map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), byKey: make(map[K]*list.Element)}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[k]; ok {
		e.Value.(*entry[K, V]).val = v
		c.order.MoveToFront(e)
		return
	}
	c.byKey[k] = c.order.PushFront(&entry[K, V]{key: k, val: v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*entry[K, V]).key)
	}
}

// listKey names one sorted message list of an immutable snapshot view.
type listKey struct {
	snap    catalog.SnapshotID
	mailbox int64 // 0 with a query: every folder
	sort    catalog.Sort
	query   string
}

// caches hold what is derived from immutable snapshot views and blobs: the
// folder lists, the sorted id lists of message lists and searches, and
// parsed messages by hash. Entries are only reached after the request's
// account was checked, so sharing them across sessions leaks nothing.
type caches struct {
	folders *lru[catalog.SnapshotID, []catalog.Folder]
	lists   *lru[listKey, []int64]
	parsed  *lru[[32]byte, *render.Message]
	changes *lru[[2]catalog.SnapshotID, catalog.Changes] // the comparison of two days, paged and filtered many times
	indexed *lru[catalog.SnapshotID, bool]               // days whose search index is whole
	flight  singleflight.Group                           // one computation per key at a time
}

func newCaches() *caches {
	return &caches{
		folders: newLRU[catalog.SnapshotID, []catalog.Folder](256),
		lists:   newLRU[listKey, []int64](64),
		parsed:  newLRU[[32]byte, *render.Message](64),
		changes: newLRU[[2]catalog.SnapshotID, catalog.Changes](8),
		indexed: newLRU[catalog.SnapshotID, bool](1024),
	}
}

package executor

import (
	"container/list"
	"sync"

	"github.com/starflow-dev/starflow/operators"
)

// runCacheSize is how many runs a worker remembers.
const runCacheSize = 512

// runCache remembers what tries need of their runs: the fields a run is
// created with (logical date, data interval, conf) never change, so the
// tries of one run read it from the store once instead of once each.
type runCache struct {
	mu    sync.Mutex
	order *list.List // of runCacheEntry, most recently used first
	byKey map[[2]string]*list.Element
}

type runCacheEntry struct {
	key  [2]string
	info operators.RunInfo
}

func newRunCache() *runCache {
	return &runCache{order: list.New(), byKey: map[[2]string]*list.Element{}}
}

// get returns the run's info when it is cached.
func (c *runCache) get(dagID, runID string) (operators.RunInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[[2]string{dagID, runID}]
	if !ok {
		return operators.RunInfo{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(runCacheEntry).info, true
}

// put caches a run's info, forgetting the least recently used run beyond
// runCacheSize.
func (c *runCache) put(info operators.RunInfo) {
	key := [2]string{info.DAGID, info.RunID}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(runCacheEntry{key: key, info: info})
	if c.order.Len() > runCacheSize {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(runCacheEntry).key)
	}
}

package localrun

import (
	"context"
	"sort"
	"sync"

	"github.com/starflow-dev/starflow/runtime/store"
)

// xcomKey names one XCom of the run.
type xcomKey struct {
	taskID   string
	mapIndex int
	key      string
}

// memXCom keeps a run's XComs in memory.
type memXCom struct {
	mu     sync.Mutex
	values map[xcomKey]any
	// pushed numbers the pushes, for PullLatest.
	pushed map[xcomKey]int
	n      int
}

func newMemXCom() *memXCom { return &memXCom{values: map[xcomKey]any{}, pushed: map[xcomKey]int{}} }

// get returns the value of an unmapped task instance.
func (m *memXCom) get(taskID, key string) (any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[xcomKey{taskID, -1, key}]
	return v, ok
}

// mappedValues returns the values the task instances of a mapped task
// pushed under key, in map-index order.
func (m *memXCom) mappedValues(taskID, key string) []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []xcomKey
	for k := range m.values {
		if k.taskID == taskID && k.key == key && k.mapIndex >= 0 {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].mapIndex < ks[j].mapIndex })
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = m.values[k]
	}
	return out
}

// entries returns every value, sorted by task id, map index and key.
func (m *memXCom) entries() []XComEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]XComEntry, 0, len(m.values))
	for k, v := range m.values {
		out = append(out, XComEntry{TaskID: k.taskID, MapIndex: k.mapIndex, Key: k.key, Value: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].TaskID != out[j].TaskID {
			return out[i].TaskID < out[j].TaskID
		}
		if out[i].MapIndex != out[j].MapIndex {
			return out[i].MapIndex < out[j].MapIndex
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// clearTask deletes the XComs of one task instance, before its try.
func (m *memXCom) clearTask(taskID string, mapIndex int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.values {
		if k.taskID == taskID && k.mapIndex == mapIndex {
			delete(m.values, k)
			delete(m.pushed, k)
		}
	}
}

// taskXCom is the operators.XCom view of one task instance.
type taskXCom struct {
	store    *memXCom
	taskID   string
	mapIndex int
}

// Pull returns the value of an unmapped task instance.
func (x taskXCom) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	v, ok := x.store.get(taskID, key)
	return v, ok, nil
}

// PullIndex returns the value one task instance of a mapped task pushed
// (executor.IndexedXCom).
func (x taskXCom) PullIndex(_ context.Context, taskID, key string, mapIndex int) (any, bool, error) {
	x.store.mu.Lock()
	defer x.store.mu.Unlock()
	v, ok := x.store.values[xcomKey{taskID, mapIndex, key}]
	return v, ok, nil
}

// PullMapped returns a mapped task's values (executor.MappedXCom).
func (x taskXCom) PullMapped(_ context.Context, taskID, key string) ([]any, error) {
	return x.store.mappedValues(taskID, key), nil
}

// Push stores value for this task instance.
func (x taskXCom) Push(_ context.Context, key string, value any) error {
	// Through JSON and back, with the store's size limit, so a task sees
	// exactly what it would see from a store.
	what := "xcom " + x.taskID + " " + key
	text, err := store.EncodeJSON(what, value, store.MaxXComBytes)
	if err != nil {
		return err
	}
	norm, err := store.DecodeJSON(what, text)
	if err != nil {
		return err
	}
	x.store.mu.Lock()
	defer x.store.mu.Unlock()
	k := xcomKey{x.taskID, x.mapIndex, key}
	x.store.values[k] = norm
	x.store.n++
	x.store.pushed[k] = x.store.n
	return nil
}

// PullLatest returns the value an unmapped task pushed last, whatever its
// key (operators.XComLatest).
func (x taskXCom) PullLatest(_ context.Context, taskID string) (any, bool, error) {
	x.store.mu.Lock()
	defer x.store.mu.Unlock()
	var (
		v    any
		last = -1
	)
	for k, n := range x.store.pushed {
		if k.taskID == taskID && k.mapIndex == -1 && n > last {
			v, last = x.store.values[k], n
		}
	}
	return v, last >= 0, nil
}

package localrun

import (
	"context"
	"sort"
	"sync"

	"github.com/starflow-dev/starflow/runtime/store"
)

// memXCom keeps a run's XComs in memory.
type memXCom struct {
	mu     sync.Mutex
	values map[[2]string]any // (task id, key) -> value
}

func newMemXCom() *memXCom { return &memXCom{values: map[[2]string]any{}} }

func (m *memXCom) get(taskID, key string) (any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[[2]string{taskID, key}]
	return v, ok
}

// entries returns every value, sorted by task id and key.
func (m *memXCom) entries() []XComEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]XComEntry, 0, len(m.values))
	for k, v := range m.values {
		out = append(out, XComEntry{TaskID: k[0], Key: k[1], Value: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].TaskID != out[j].TaskID {
			return out[i].TaskID < out[j].TaskID
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func (m *memXCom) clearTask(taskID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.values {
		if k[0] == taskID {
			delete(m.values, k)
		}
	}
}

// taskXCom is the operators.XCom view of one task instance.
type taskXCom struct {
	store  *memXCom
	taskID string
}

func (x taskXCom) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	v, ok := x.store.get(taskID, key)
	return v, ok, nil
}

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
	x.store.values[[2]string{x.taskID, key}] = norm
	return nil
}

package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/starflow-dev/starflow/runtime/store"
)

// callStore counts the benchmarks' calls of the store methods on the
// engine's path, by method (TaskInstanceStates by the kind of read: the
// tasks' rows, a state filter, the page of waiting task instances, the
// one-row progress check, the whole run). With STARFLOW_BENCH_CALLS set,
// benchRuns prints them per task instance: where the rows and statements
// of a task instance go.
type callStore struct {
	store.Store
	mu sync.Mutex
	n  map[string]int
}

func (c *callStore) inc(name string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
	c.mu.Unlock()
}

// dump prints the calls per task instance when STARFLOW_BENCH_CALLS is set.
func (c *callStore) dump(tasks int) {
	if os.Getenv("STARFLOW_BENCH_CALLS") == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for k := range c.n {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(os.Stderr, "  %-28s %8.3f/task\n", k, float64(c.n[k])/float64(tasks))
	}
}

func (c *callStore) DAGGet(ctx context.Context, id string) (*store.DAG, error) {
	c.inc("DAGGet")
	return c.Store.DAGGet(ctx, id)
}
func (c *callStore) RunGet(ctx context.Context, a, b string) (*store.DagRun, error) {
	c.inc("RunGet")
	return c.Store.RunGet(ctx, a, b)
}
func (c *callStore) RunList(ctx context.Context, p *store.RunListParams) ([]*store.DagRun, error) {
	c.inc("RunList")
	return c.Store.RunList(ctx, p)
}
func (c *callStore) TaskInstanceGet(ctx context.Context, k store.TaskInstanceKey) (*store.TaskInstance, error) {
	c.inc("TaskInstanceGet")
	return c.Store.TaskInstanceGet(ctx, k)
}
func (c *callStore) TaskInstanceList(ctx context.Context, p *store.TaskInstanceListParams) ([]*store.TaskInstance, error) {
	c.inc("TaskInstanceList")
	return c.Store.TaskInstanceList(ctx, p)
}
func (c *callStore) TaskInstanceStates(ctx context.Context, p *store.TaskInstanceStatesParams) ([]store.TaskInstanceState, error) {
	k := "TaskInstanceStates"
	switch {
	case p.ByPriority:
		k += "/page"
	case p.Limit == 1:
		k += "/left"
	case len(p.TaskIDs) > 0:
		k += "/tasks"
	case len(p.States) > 0:
		k += "/states"
	default:
		k += "/whole"
	}
	c.inc(k)
	return c.Store.TaskInstanceStates(ctx, p)
}
func (c *callStore) TaskInstanceSetState(ctx context.Context, p *store.TaskInstanceSetStateParams) (*store.TaskInstance, error) {
	c.inc("TaskInstanceSetState")
	return c.Store.TaskInstanceSetState(ctx, p)
}
func (c *callStore) TaskInstancesSetStates(ctx context.Context, ps []*store.TaskInstanceSetStateParams) ([]bool, error) {
	c.inc("TaskInstancesSetStates")
	return c.Store.TaskInstancesSetStates(ctx, ps)
}
func (c *callStore) TaskInstanceEnd(ctx context.Context, p *store.TaskInstanceEndParams) ([]bool, error) {
	c.inc("TaskInstanceEnd")
	return c.Store.TaskInstanceEnd(ctx, p)
}
func (c *callStore) TaskInstancesEnd(ctx context.Context, ps []*store.TaskInstanceEndParams) ([]store.TaskInstanceEndResult, error) {
	c.inc("TaskInstancesEnd")
	return c.Store.TaskInstancesEnd(ctx, ps)
}
func (c *callStore) TaskInstanceClaim(ctx context.Context, p *store.TaskInstanceClaimParams) ([]*store.TaskInstance, error) {
	c.inc("TaskInstanceClaim")
	return c.Store.TaskInstanceClaim(ctx, p)
}
func (c *callStore) PoolList(ctx context.Context) ([]*store.Pool, error) {
	c.inc("PoolList")
	return c.Store.PoolList(ctx)
}
func (c *callStore) SLAMissList(ctx context.Context, p *store.SLAMissListParams) ([]*store.SLAMiss, error) {
	c.inc("SLAMissList")
	return c.Store.SLAMissList(ctx, p)
}

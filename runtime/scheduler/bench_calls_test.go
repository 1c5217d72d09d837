package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// callStore counts the benchmarks' calls of the store methods on the
// engine's path, by method (TaskInstanceStates by the kind of read: the
// tasks' rows, a state filter, the page of waiting task instances, the
// one-row progress check, the whole run). With STARFLOW_BENCH_CALLS set,
// benchRuns prints them per task instance, with their mean wall time: where the rows and statements
// of a task instance go.
type callStore struct {
	store.Store
	mu sync.Mutex
	n  map[string]int
	d  map[string]time.Duration
}

// inc counts one call of name that started at t0 (its wall time, waits
// included).
func (c *callStore) inc(name string, t0 time.Time) {
	d := time.Since(t0)
	c.mu.Lock()
	if c.n == nil {
		c.n, c.d = map[string]int{}, map[string]time.Duration{}
	}
	c.n[name]++
	c.d[name] += d
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
		fmt.Fprintf(os.Stderr, "  %-28s %8.3f/task %8.3f ms/call\n", k, float64(c.n[k])/float64(tasks),
			float64(c.d[k].Microseconds())/1000/float64(c.n[k]))
	}
}

func (c *callStore) DAGGet(ctx context.Context, id string) (*store.DAG, error) {
	defer c.inc("DAGGet", time.Now())
	return c.Store.DAGGet(ctx, id)
}
func (c *callStore) RunGet(ctx context.Context, a, b string) (*store.DagRun, error) {
	defer c.inc("RunGet", time.Now())
	return c.Store.RunGet(ctx, a, b)
}
func (c *callStore) RunList(ctx context.Context, p *store.RunListParams) ([]*store.DagRun, error) {
	defer c.inc("RunList", time.Now())
	return c.Store.RunList(ctx, p)
}
func (c *callStore) TaskInstanceGet(ctx context.Context, k store.TaskInstanceKey) (*store.TaskInstance, error) {
	defer c.inc("TaskInstanceGet", time.Now())
	return c.Store.TaskInstanceGet(ctx, k)
}
func (c *callStore) TaskInstanceList(ctx context.Context, p *store.TaskInstanceListParams) ([]*store.TaskInstance, error) {
	defer c.inc("TaskInstanceList", time.Now())
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
	defer c.inc(k, time.Now())
	return c.Store.TaskInstanceStates(ctx, p)
}
func (c *callStore) TaskInstanceSetState(ctx context.Context, p *store.TaskInstanceSetStateParams) (*store.TaskInstance, error) {
	defer c.inc("TaskInstanceSetState", time.Now())
	return c.Store.TaskInstanceSetState(ctx, p)
}
func (c *callStore) TaskInstancesSetStates(ctx context.Context, ps []*store.TaskInstanceSetStateParams) ([]bool, error) {
	defer c.inc("TaskInstancesSetStates", time.Now())
	return c.Store.TaskInstancesSetStates(ctx, ps)
}
func (c *callStore) TaskInstanceEnd(ctx context.Context, p *store.TaskInstanceEndParams) ([]bool, error) {
	defer c.inc("TaskInstanceEnd", time.Now())
	return c.Store.TaskInstanceEnd(ctx, p)
}
func (c *callStore) TaskInstancesEnd(ctx context.Context, ps []*store.TaskInstanceEndParams) ([]store.TaskInstanceEndResult, error) {
	defer c.inc("TaskInstancesEnd", time.Now())
	return c.Store.TaskInstancesEnd(ctx, ps)
}
func (c *callStore) TaskInstanceClaim(ctx context.Context, p *store.TaskInstanceClaimParams) ([]*store.TaskInstance, error) {
	defer c.inc("TaskInstanceClaim", time.Now())
	return c.Store.TaskInstanceClaim(ctx, p)
}
func (c *callStore) PoolList(ctx context.Context) ([]*store.Pool, error) {
	defer c.inc("PoolList", time.Now())
	return c.Store.PoolList(ctx)
}
func (c *callStore) SLAMissList(ctx context.Context, p *store.SLAMissListParams) ([]*store.SLAMiss, error) {
	defer c.inc("SLAMissList", time.Now())
	return c.Store.SLAMissList(ctx, p)
}

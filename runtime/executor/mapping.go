package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// MappedXCom is implemented by XCom stores that hold the values of mapped
// task instances: PullMapped returns, in map-index order, the values the
// task instances of a mapped task pushed under key.
type MappedXCom interface {
	PullMapped(ctx context.Context, taskID, key string) ([]any, error)
}

// IndexedXCom is implemented by XCom stores that can read the value one
// task instance of a mapped task pushed.
type IndexedXCom interface {
	PullIndex(ctx context.Context, taskID, key string, mapIndex int) (any, bool, error)
}

// collectingXCom makes a pull of a mapped task's XCom return the list of
// its task instances' values, as Airflow's downstream of a mapped task sees;
// within a mapped task group, a pull of another task of the group returns
// the value of its task instance with the same map index (task is the
// pulling task, mapIndex its map index).
type collectingXCom struct {
	operators.XCom
	dag      *dags.DAG
	task     *dags.Task
	mapIndex int
}

// Pull pulls one value, or the collected values of a mapped task.
func (x collectingXCom) Pull(ctx context.Context, taskID, key string) (any, bool, error) {
	t := x.dag.Task(taskID)
	if x.mapIndex >= 0 && dags.SameMapGroup(t, x.task) {
		if m, ok := x.XCom.(IndexedXCom); ok {
			return m.PullIndex(ctx, taskID, key, x.mapIndex)
		}
	}
	if t != nil && t.IsMapped() {
		if m, ok := x.XCom.(MappedXCom); ok {
			vals, err := m.PullMapped(ctx, taskID, key)
			if err != nil {
				return nil, false, err
			}
			return vals, true, nil
		}
	}
	return x.XCom.Pull(ctx, taskID, key)
}

// PullLatest pulls the XCom an unmapped task pushed last, whatever its key
// (operators.XComLatest), when the wrapped XCom can.
func (x collectingXCom) PullLatest(ctx context.Context, taskID string) (any, bool, error) {
	latest, ok := x.XCom.(operators.XComLatest)
	if !ok {
		return nil, false, errors.New("key=None (any key) is not available here")
	}
	return latest.PullLatest(ctx, taskID)
}

// mappedTask returns the task a mapped task instance runs: t with the
// values of its map index in place of the mapped arguments (function
// keyword arguments for task(), operator arguments otherwise).
func mappedTask(ctx context.Context, c *operators.Call) (*dags.Task, error) {
	t := c.Task
	if !t.IsMapped() || c.MapIndex < 0 {
		if t.IsMapped() {
			return nil, operators.Fail(errors.New("a mapped task runs with a map index; this one has none (not expanded)"))
		}
		return t, nil
	}
	var mapItem dags.ItemMapper
	if c.Functions != nil {
		mapItem = func(fnKey string, item any) (any, error) {
			return c.Functions.CallFunction(ctx, c, fnKey, []any{item}, nil)
		}
	}
	resolve := dags.ResolveWith(func(taskID, key string) (any, bool, error) {
		return c.XCom.Pull(ctx, taskID, key)
	})
	vals, err := dags.MapValuesWith(t, c.MapIndex, resolve, mapItem)
	if err != nil {
		return nil, operators.Fail(err)
	}
	if t.MapGroup != nil {
		return groupTask(c, t, resolve, mapItem)
	}
	// Values from XComs are not templated; literal ones are, as Airflow's
	// expand_input leaves only the XCom-resolved values out of rendering
	// (the dicts of expand_kwargs are rendered too).
	c.Mapped = make(map[string]bool, len(vals))
	for _, a := range t.Expand {
		if a.Name != "" && a.FromXCom() {
			c.Mapped[a.Name] = true
		}
	}
	mt := *t
	mt.Config = maps.Clone(t.Config)
	if t.Operator == dags.OperatorTask {
		kw := map[string]any{}
		if old, ok := t.Config["kwargs"].(map[string]any); ok {
			kw = maps.Clone(old)
		}
		maps.Copy(kw, vals)
		mt.Config["kwargs"] = kw
	} else {
		maps.Copy(mt.Config, vals)
	}
	return &mt, nil
}

// groupTask returns the task a task instance of a task in a mapped task
// group runs. The group's argument values of its map index go to
// c.GroupArgs, where ResolveXComs finds them after rendering (task()
// arguments, operator arguments that take outputs): as Airflow's
// MappedArgument, they are not templated. An operator argument that is
// wholly such a value is replaced by it here, and not templated either.
func groupTask(c *operators.Call, t *dags.Task, resolve dags.XComResolver, mapItem dags.ItemMapper) (*dags.Task, error) {
	vals, err := dags.GroupValues(t, c.MapIndex, resolve, mapItem)
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("mapped group %s: %w", t.MapGroup.ID, err))
	}
	c.GroupArgs = vals
	c.Mapped = map[string]bool{}
	if t.Operator == dags.OperatorTask {
		return t, nil
	}
	mt := *t
	mt.Config = make(map[string]any, len(t.Config))
	for k, v := range t.Config {
		if ref, ok := v.(dags.XComRef); ok && ref.GroupArg != "" {
			c.Mapped[k] = true
		}
		mt.Config[k] = withGroupArgs(v, vals, 0)
	}
	return &mt, nil
}

// withGroupArgs returns v with the references to mapped group arguments
// replaced by their values in vals; containers are copied when they hold one.
func withGroupArgs(v any, vals map[string]any, depth int) any {
	if depth > 64 {
		return v
	}
	switch x := v.(type) {
	case dags.XComRef:
		if x.GroupArg != "" {
			return vals[x.GroupArg]
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withGroupArgs(e, vals, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = withGroupArgs(e, vals, depth+1)
		}
		return out
	}
	return v
}

// PullIndex returns the value map index mapIndex of taskID pushed under key.
func (x storeXCom) PullIndex(ctx context.Context, taskID, key string, mapIndex int) (any, bool, error) {
	v, err := x.st.XComGet(ctx, &store.XComGetParams{
		TaskInstanceKey: store.TaskInstanceKey{DagID: x.key.DagID, RunID: x.key.RunID, TaskID: taskID, MapIndex: mapIndex},
		Key:             key,
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pull xcom %q of %s[%d]: %w", key, taskID, mapIndex, err)
	}
	return v.Value, true, nil
}

// PullMapped returns the values the mapped task instances of taskID pushed
// under key, in map-index order.
func (x storeXCom) PullMapped(ctx context.Context, taskID, key string) ([]any, error) {
	v, _, err := store.PullXCom(ctx, x.st, x.key.DagID, x.key.RunID, taskID, key, true)
	if err != nil {
		return nil, err
	}
	return v.([]any), nil
}

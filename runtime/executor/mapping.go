package executor

import (
	"context"
	"errors"
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

// collectingXCom makes a pull of a mapped task's XCom return the list of
// its task instances' values, as Airflow's downstream of a mapped task sees.
type collectingXCom struct {
	operators.XCom
	dag *dags.DAG
}

// Pull pulls one value, or the collected values of a mapped task.
func (x collectingXCom) Pull(ctx context.Context, taskID, key string) (any, bool, error) {
	if t := x.dag.Task(taskID); t != nil && t.IsMapped() {
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
	vals, err := dags.MapValuesWith(t, c.MapIndex, dags.ResolveWith(func(taskID, key string) (any, bool, error) {
		return c.XCom.Pull(ctx, taskID, key)
	}), mapItem)
	if err != nil {
		return nil, operators.Fail(err)
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

// PullMapped returns the values the mapped task instances of taskID pushed
// under key, in map-index order.
func (x storeXCom) PullMapped(ctx context.Context, taskID, key string) ([]any, error) {
	v, _, err := store.PullXCom(ctx, x.st, x.key.DagID, x.key.RunID, taskID, key, true)
	if err != nil {
		return nil, err
	}
	return v.([]any), nil
}

package store

import (
	"context"
	"errors"
	"fmt"
)

// PullXCom reads the value task taskID pushed under key in a run, as a
// downstream task sees it: the value of its task instance, or, for a mapped
// task, the list of its task instances' values in map-index order. found
// is false when an unmapped task pushed nothing.
func PullXCom(ctx context.Context, s Store, dagID, runID, taskID, key string, mapped bool) (value any, found bool, err error) {
	if mapped {
		rows, err := s.XComList(ctx, &XComListParams{DagID: dagID, RunID: runID, TaskID: taskID})
		if err != nil {
			return nil, false, fmt.Errorf("pull xcom %q of mapped task %s: %w", key, taskID, err)
		}
		out := []any{}
		for _, r := range rows {
			if r.Key == key && r.MapIndex >= 0 {
				out = append(out, r.Value)
			}
		}
		return out, true, nil
	}
	x, err := s.XComGet(ctx, &XComGetParams{
		TaskInstanceKey: TaskInstanceKey{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: NoMapIndex},
		Key:             key,
	})
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pull xcom %q of %s: %w", key, taskID, err)
	}
	return x.Value, true, nil
}

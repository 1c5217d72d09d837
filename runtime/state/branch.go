package state

import (
	"fmt"
	"slices"
	"strings"

	"github.com/starflow-dev/starflow/dags"
)

// BranchSkips returns the direct downstream tasks of branch task
// branchTaskID to skip after its function chose the ids in chosen, as
// Airflow's branch operators do: every direct downstream task that is
// neither chosen nor transitively downstream of a chosen task is skipped
// (so a join directly after the branch that a chosen path also reaches
// runs). An empty chosen skips every direct downstream task.
//
// An id may name a task or a task group; a group stands for its root tasks.
// Ids are resolved as Airflow resolves them: an id that names a task or
// group of the DAG is taken as it is, otherwise it is tried relative to the
// branch task's own group ("check" inside group "g" means "g.check"). The
// error names every id that is neither. The result is in topological order.
func BranchSkips(d *dags.DAG, branchTaskID string, chosen []string) ([]string, error) {
	branch := d.Task(branchTaskID)
	if branch == nil {
		return nil, fmt.Errorf("branch task %q is not in DAG %q", branchTaskID, d.ID)
	}
	var follow, invalid []string
	for _, id := range chosen {
		resolved, isGroup, ok := resolveBranchID(d, branch, id)
		switch {
		case !ok:
			invalid = append(invalid, id)
		case isGroup:
			follow = append(follow, d.GroupRoots(resolved)...)
		default:
			follow = append(follow, resolved)
		}
	}
	if len(invalid) > 0 {
		return nil, fmt.Errorf("branch task %q chose %s: not a task or task group of DAG %q",
			branchTaskID, quoteAll(invalid), d.ID)
	}
	followed := make(map[string]bool, len(follow))
	for _, id := range follow {
		followed[id] = true
	}
	for _, id := range d.Descendants(follow...) {
		followed[id] = true
	}
	var skip []string
	for _, id := range branch.Downstream {
		if !followed[id] {
			skip = append(skip, id)
		}
	}
	return inTopoOrder(d, skip), nil
}

// resolveBranchID resolves one id a branch function returned: a group id
// wins over a task id, and an absolute id over one relative to the branch
// task's group.
func resolveBranchID(d *dags.DAG, branch *dags.Task, id string) (resolved string, isGroup, ok bool) {
	try := func(id string) (bool, bool) {
		if isGroupID(d, id) {
			return true, true
		}
		return false, d.Task(id) != nil
	}
	if g, found := try(id); found {
		return id, g, true
	}
	if branch.Group != "" {
		rel := branch.Group + "." + id
		if g, found := try(rel); found {
			return rel, g, true
		}
	}
	return "", false, false
}

// isGroupID reports whether id is a task group of d: the group of some task,
// or a parent of such a group.
func isGroupID(d *dags.DAG, id string) bool {
	if id == "" {
		return false
	}
	for _, t := range d.Tasks() {
		if t.Group == id || strings.HasPrefix(t.Group, id+".") {
			return true
		}
	}
	return false
}

// ShortCircuitSkips returns the tasks to skip when short-circuit task taskID
// returns a falsy value: with ignoreDownstreamTriggerRules (Airflow's
// default) every task transitively downstream, whatever its trigger rule;
// otherwise only the direct downstream tasks, the rest following their own
// trigger rules. The result is in topological order; an unknown task has
// nothing to skip.
func ShortCircuitSkips(d *dags.DAG, taskID string, ignoreDownstreamTriggerRules bool) []string {
	t := d.Task(taskID)
	if t == nil {
		return nil
	}
	if ignoreDownstreamTriggerRules {
		return inTopoOrder(d, d.Descendants(taskID))
	}
	return inTopoOrder(d, slices.Clone(t.Downstream))
}

// inTopoOrder sorts ids (known to d) in place by their topological rank.
func inTopoOrder(d *dags.DAG, ids []string) []string {
	slices.SortFunc(ids, func(a, b string) int { return d.TaskIndex(a) - d.TaskIndex(b) })
	return ids
}

func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}

package dags

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// BranchSkips returns the direct downstream tasks of branch task
// branchTaskID to skip after its function chose the ids in chosen, as
// Airflow's branch operators do: every direct downstream task that is
// neither chosen nor transitively downstream of a chosen task is skipped
// (so a join directly after the branch that a chosen path also reaches
// runs). An empty chosen skips every direct downstream task.
//
// An id may name a task or a task group; a group stands for its roots
// (GroupRoots). Ids are resolved as Airflow resolves them: an id that names
// a group or task of the DAG is taken as it is (a group before a task),
// otherwise it is tried relative to the branch task's own group ("check"
// inside group "g" means "g.check"). The error names every id that is
// neither, suggests the nearest direct downstream task and lists them all.
// The result is in topological order (that of Tasks).
func (d *DAG) BranchSkips(branchTaskID string, chosen []string) ([]string, error) {
	branch := d.Task(branchTaskID)
	if branch == nil {
		return nil, fmt.Errorf("branch task %q is not in DAG %q", branchTaskID, d.ID)
	}
	groups := d.groupIDs()
	var follow, invalid []string
	for _, id := range chosen {
		resolved, isGroup, ok := d.resolveBranchID(groups, branch, id)
		switch {
		case !ok:
			if !slices.Contains(invalid, id) {
				invalid = append(invalid, id)
			}
		case isGroup:
			follow = append(follow, d.GroupRoots(resolved)...)
		default:
			follow = append(follow, resolved)
		}
	}
	if len(invalid) > 0 {
		return nil, d.unknownBranchIDs(branch, invalid)
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
	return d.inTopoOrder(skip), nil
}

// ShortCircuitSkips returns the tasks to skip when short-circuit task taskID
// returns a falsy value: with ignoreDownstreamTriggerRules (Airflow's
// default) every task transitively downstream, whatever its trigger rule;
// otherwise only the direct downstream tasks, the rest following their own
// trigger rules. Teardown tasks are left out, as in Airflow. The result is
// in topological order (that of Tasks); an unknown task has nothing to skip.
func (d *DAG) ShortCircuitSkips(taskID string, ignoreDownstreamTriggerRules bool) []string {
	t := d.Task(taskID)
	if t == nil {
		return nil
	}
	var skip []string
	if ignoreDownstreamTriggerRules {
		skip = d.Descendants(taskID)
	} else {
		skip = d.inTopoOrder(slices.Clone(t.Downstream))
	}
	// Teardowns are never skipped: they run when their setups did.
	return slices.DeleteFunc(skip, func(id string) bool { return d.tasks[id].IsTeardown })
}

// resolveBranchID resolves one id a branch function returned, given the
// DAG's group ids: a group id wins over a task id, and an absolute id over
// one relative to the branch task's group.
func (d *DAG) resolveBranchID(groups map[string]bool, branch *Task, id string) (resolved string, isGroup, ok bool) {
	try := func(id string) (isGroup, found bool) {
		if groups[id] {
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

// groupIDs returns the set of task-group ids of d: the group of every task
// and each group enclosing it. Finalize computes it once; before that it is
// computed on each call.
func (d *DAG) groupIDs() map[string]bool {
	if d.groups != nil {
		return d.groups
	}
	return collectGroupIDs(d.order)
}

// collectGroupIDs returns the groups of tasks and their parent groups.
func collectGroupIDs(tasks []*Task) map[string]bool {
	groups := map[string]bool{}
	for _, t := range tasks {
		for g := t.Group; g != "" && !groups[g]; {
			groups[g] = true
			i := strings.LastIndexByte(g, '.')
			if i < 0 {
				break
			}
			g = g[:i]
		}
	}
	return groups
}

// inTopoOrder sorts ids, distinct tasks of d, in place by their rank in
// Tasks, looking each rank up once.
func (d *DAG) inTopoOrder(ids []string) []string {
	if len(ids) < 2 {
		return ids
	}
	ranks := make([]int, len(ids))
	for i, id := range ids {
		ranks[i] = d.TaskIndex(id)
	}
	slices.Sort(ranks)
	for i, r := range ranks {
		ids[i] = d.order[r].ID
	}
	return ids
}

// unknownBranchIDs is the error for branch ids (deduplicated, at least one)
// that name no task or group: it names each, suggests the nearest direct
// downstream task of each where one is close, and lists those tasks.
func (d *DAG) unknownBranchIDs(branch *Task, ids []string) error {
	var b strings.Builder
	if len(ids) == 1 {
		fmt.Fprintf(&b, "branch %q returned %q, which is not a task or task group of DAG %q", branch.ID, ids[0], d.ID)
	} else {
		fmt.Fprintf(&b, "branch %q returned %s, which are not tasks or task groups of DAG %q", branch.ID, quoteAll(ids), d.ID)
	}
	var hints []string
	for _, id := range ids {
		best := closest(id, branch.Group, branch.Downstream)
		switch {
		case best == "":
		case len(ids) == 1:
			hints = append(hints, fmt.Sprintf("%q", best))
		default:
			hints = append(hints, fmt.Sprintf("%q for %q", best, id))
		}
	}
	if len(hints) > 0 {
		fmt.Fprintf(&b, "; did you mean %s?", strings.Join(hints, ", "))
	}
	if len(branch.Downstream) > 0 {
		fmt.Fprintf(&b, " (direct downstream: %s)", strings.Join(branch.Downstream, ", "))
	} else {
		b.WriteString(" (the branch task has no downstream tasks)")
	}
	return errors.New(b.String())
}

// quoteAll formats ids as a comma-separated list of quoted strings.
func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}

// closest returns the candidate nearest to id by edit distance, or "" when
// none is near. A candidate is also compared without the prefix group (the
// branch task's group) and by its name inside its own group, so "only"
// suggests "g.only".
func closest(id, group string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, cand := range candidates {
		dist := EditDistance(id, cand)
		if group != "" {
			if short, ok := strings.CutPrefix(cand, group+"."); ok {
				dist = min(dist, EditDistance(id, short))
			}
		}
		if i := strings.LastIndexByte(cand, '.'); i >= 0 {
			dist = min(dist, EditDistance(id, cand[i+1:]))
		}
		if dist < bestDist {
			best, bestDist = cand, dist
		}
	}
	if bestDist > 1+len(id)/4 {
		return ""
	}
	return best
}

// EditDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent bytes.
func EditDistance(a, b string) int {
	prev2 := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)  // row i-1
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			dist := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				dist = min(dist, prev2[j-2]+1)
			}
			cur[j] = dist
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

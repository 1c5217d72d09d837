package branch

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/function"
)

// Operator kinds of this package.
const (
	KindBranch       = dags.OperatorBranch
	KindShortCircuit = dags.OperatorShortCircuit
)

// Branch runs a branch task. The zero value is ready to use.
type Branch struct{}

// ShortCircuit runs a short_circuit task. The zero value is ready to use.
type ShortCircuit struct{}

var (
	_ operators.Operator = (*Branch)(nil)
	_ operators.Operator = (*ShortCircuit)(nil)
)

// NewBranch returns a branch operator.
func NewBranch() *Branch { return &Branch{} }

// NewShortCircuit returns a short_circuit operator.
func NewShortCircuit() *ShortCircuit { return &ShortCircuit{} }

// Register adds both operators to r under KindBranch and KindShortCircuit.
func Register(r *operators.Registry) {
	r.Register(KindBranch, NewBranch())
	r.Register(KindShortCircuit, NewShortCircuit())
}

// Execute calls the branch function, which returns a task or group id, a
// list of them, or None, and skips the direct downstream tasks that are
// not followed. The function's result is the return value.
func (*Branch) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	v, err := function.Call(ctx, c)
	if err != nil {
		return nil, err
	}
	chosen, err := branchIDs(v)
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("branch %q: %w", c.Task.ID, err))
	}
	if c.DAG == nil {
		return nil, operators.Fail(fmt.Errorf("branch %q: the call has no DAG", c.Task.ID))
	}
	skip, err := BranchSkips(c.DAG, c.Task.ID, chosen)
	if err != nil {
		return nil, operators.Fail(err)
	}
	res := operators.Success(v)
	res.Skip = skip
	switch {
	case len(chosen) == 0:
		res.Message = fmt.Sprintf("branch returned no task: skipping every direct downstream task (%s)", list(skip))
	default:
		res.Message = fmt.Sprintf("following %s; skipping %s", list(chosen), list(skip))
	}
	c.Logf("%s", res.Message)
	return res, nil
}

// branchIDs reads a branch function's result: a string, a list of
// strings, or nil.
func branchIDs(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []string:
		return x, nil
	case []any:
		ids := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("the function returned a list whose item %d is %s, not a task id", i, describe(e))
			}
			ids = append(ids, s)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("the function must return a task id, a list of task ids or None, got %s", describe(v))
}

// BranchSkips returns the direct downstream tasks of branch task taskID to
// skip when it chose the given ids, sorted. An id is a task id or a
// task-group id (meaning the group's root tasks); an id that is neither is
// tried relative to the branch task's own group ("<group>.<id>"). Every
// direct downstream task that is neither chosen nor downstream of a chosen
// task is skipped, so a join downstream of a chosen branch runs.
func BranchSkips(d *dags.DAG, taskID string, chosen []string) ([]string, error) {
	t := d.Task(taskID)
	if t == nil {
		return nil, fmt.Errorf("branch task %q is not in DAG %q", taskID, d.ID)
	}
	var targets []string
	for _, id := range chosen {
		ids, ok := resolve(d, t, id)
		if !ok {
			return nil, unknownID(d, t, id)
		}
		targets = append(targets, ids...)
	}
	followed := make(map[string]bool, len(targets))
	for _, id := range targets {
		followed[id] = true
	}
	for _, id := range d.Descendants(targets...) {
		followed[id] = true
	}
	var skip []string
	for _, id := range t.Downstream {
		if !followed[id] {
			skip = append(skip, id)
		}
	}
	slices.Sort(skip)
	return skip, nil
}

// resolve returns the task ids id stands for, seen from branch task t: the
// task itself, a group's root tasks, or the same relative to t's group.
func resolve(d *dags.DAG, t *dags.Task, id string) ([]string, bool) {
	candidates := []string{id}
	if t.Group != "" {
		candidates = append(candidates, t.Group+"."+id)
	}
	for _, cand := range candidates {
		if d.Task(cand) != nil {
			return []string{cand}, true
		}
		if roots := d.GroupRoots(cand); len(roots) > 0 {
			return roots, true
		}
	}
	return nil, false
}

// unknownID is the error for a branch result that names no task or group,
// with the closest direct downstream id as a hint.
func unknownID(d *dags.DAG, t *dags.Task, id string) error {
	msg := fmt.Sprintf("branch %q returned %q, which is not a task or task group of DAG %q", t.ID, id, d.ID)
	if best := closest(id, t.Group, t.Downstream); best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	if len(t.Downstream) > 0 {
		msg += fmt.Sprintf(" (direct downstream: %s)", strings.Join(t.Downstream, ", "))
	} else {
		msg += " (the branch task has no downstream tasks)"
	}
	return fmt.Errorf("%s", msg)
}

// closest returns the candidate nearest to id by edit distance, comparing
// ids inside group without the group prefix too, or "" when none is near.
func closest(id, group string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, cand := range candidates {
		d := editDistance(id, cand)
		if group != "" {
			if short, ok := strings.CutPrefix(cand, group+"."); ok {
				d = min(d, editDistance(id, short))
			}
		}
		if d < bestDist {
			best, bestDist = cand, d
		}
	}
	if bestDist > 1+len(id)/4 {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent bytes.
func editDistance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}

// Execute calls the condition function. A truthy result lets the
// downstream tasks run and is the return value; a falsy one skips them:
// all transitive downstream tasks when ignore_downstream_trigger_rules is
// true (the default), only the direct ones otherwise.
func (*ShortCircuit) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	if c.Task == nil {
		return nil, operators.Fail(fmt.Errorf("short_circuit: the call has no task"))
	}
	ignore := true
	switch v := c.Task.Config["ignore_downstream_trigger_rules"].(type) {
	case nil:
	case bool:
		ignore = v
	default:
		return nil, operators.Fail(fmt.Errorf("short_circuit %q: ignore_downstream_trigger_rules must be a bool, got %s", c.Task.ID, describe(v)))
	}
	v, err := function.Call(ctx, c)
	if err != nil {
		return nil, err
	}
	if Truthy(v) {
		res := operators.Success(v)
		res.Message = fmt.Sprintf("condition is %s: proceeding with downstream tasks", describe(v))
		c.Logf("%s", res.Message)
		return res, nil
	}
	if c.DAG == nil {
		return nil, operators.Fail(fmt.Errorf("short_circuit %q: the call has no DAG", c.Task.ID))
	}
	res := operators.Success(nil)
	res.Skip = ShortCircuitSkips(c.DAG, c.Task.ID, ignore)
	scope := "all downstream tasks"
	if !ignore {
		scope = "the direct downstream tasks"
	}
	res.Message = fmt.Sprintf("condition is %s: skipping %s (%s)", describe(v), scope, list(res.Skip))
	c.Logf("%s", res.Message)
	return res, nil
}

// ShortCircuitSkips returns, sorted, the tasks a falsy short_circuit task
// skips: every transitive downstream task when ignoreTriggerRules is true,
// else only its direct downstream tasks (whose own downstream tasks then
// follow their trigger rules).
func ShortCircuitSkips(d *dags.DAG, taskID string, ignoreTriggerRules bool) []string {
	var skip []string
	if ignoreTriggerRules {
		skip = d.Descendants(taskID)
	} else if t := d.Task(taskID); t != nil {
		skip = slices.Clone(t.Downstream)
	}
	slices.Sort(skip)
	return skip
}

// Truthy reports whether v is true in Python's sense: nil, false, zero
// numbers, and empty strings, lists and maps are false; everything else is
// true.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array, reflect.String:
		return rv.Len() > 0
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() != 0
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	}
	return true
}

// describe prints a function result for a message, Python-style.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%v", v)
}

// list formats ids for a message.
func list(ids []string) string {
	if len(ids) == 0 {
		return "nothing"
	}
	return strings.Join(ids, ", ")
}

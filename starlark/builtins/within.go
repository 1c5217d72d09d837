package builtins

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// within(tasks, build) stands for Airflow's `with teardown_task:` (and
// `with setup_task:`, `with [s1, s2]:`): Starlark has no with statement,
// so the tasks created while build runs are the tasks "in the context".
// The linking follows Airflow's SetupTeardownContext
// (task-sdk definitions/_internal/setup_teardown.py) step by step, quirks
// included, with its class-level state kept per DAG being built
// (stContext): entering pushes the setup or teardown, every task created
// while a context is active is recorded under the innermost setup and
// teardown, and leaving links the recorded work tasks' roots to the setup
// and their leaves to the teardown, the setup to an inner setup and an
// inner teardown to the outer one.

// stContext is Airflow's BaseSetupTeardownContext class state for one DAG.
// A nil slice is Airflow's empty list (no task).
type stContext struct {
	active     bool
	contextMap map[string][]*dags.Task
	// setup and teardown are the context-managed tasks, with the outer
	// ones on the prev stacks.
	setup, teardown         []*dags.Task
	prevSetup, prevTeardown [][]*dags.Task
	// teardownsOfSetup and setupsOfTeardown are the teardowns found near
	// a context-managed setup and the setups found near a teardown.
	teardownsOfSetup, setupsOfTeardown         []*dags.Task
	prevTeardownsOfSetup, prevSetupsOfTeardown [][]*dags.Task
}

// key names a task or list of tasks in contextMap.
func stKey(ts []*dags.Task) string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return strings.Join(ids, "\x00")
}

func sameTasks(a, b []*dags.Task) bool { return stKey(a) == stKey(b) && len(a) == len(b) }

// record adds t to the context map under the innermost setup and teardown
// (Airflow's update_context_map): every task created while a context is
// active, and every task given to scope.add_task.
func (c *stContext) record(t *dags.Task) {
	if t.IsSetup || t.IsTeardown {
		return
	}
	if c.contextMap == nil {
		c.contextMap = map[string][]*dags.Task{}
	}
	if len(c.setup) > 0 {
		k := stKey(c.setup)
		c.contextMap[k] = append(c.contextMap[k], t)
	}
	if len(c.teardown) > 0 {
		k := stKey(c.teardown)
		c.contextMap[k] = append(c.contextMap[k], t)
	}
}

// linker adds edges up >> down for every pair, at one position.
type linker struct {
	d   *dags.DAG
	pos dags.Pos
}

func (l linker) link(ups, downs []*dags.Task) {
	for _, u := range ups {
		for _, d := range downs {
			l.d.Connect(u.ID, d.ID, l.pos)
		}
	}
}

// push enters a context (push_setup_teardown_task): ts are all setups or
// all teardowns.
func (c *stContext) push(d *dags.DAG, ts []*dags.Task) {
	if ts[0].IsTeardown {
		if len(c.teardown) > 0 && !sameTasks(c.teardown, ts) {
			c.prevTeardown = append(c.prevTeardown, c.teardown)
		}
		c.teardown = ts
		setups := nearestOf(d, ts[0], ts[0].Upstream, func(t *dags.Task) bool { return t.IsSetup })
		if len(c.setupsOfTeardown) > 0 && !sameTasks(c.setupsOfTeardown, setups) {
			c.prevSetupsOfTeardown = append(c.prevSetupsOfTeardown, c.setupsOfTeardown)
		}
		c.setupsOfTeardown = setups
	} else {
		if len(c.setup) > 0 && !sameTasks(c.setup, ts) {
			c.prevSetup = append(c.prevSetup, c.setup)
		}
		c.setup = ts
		teardowns := nearestOf(d, ts[0], ts[0].Downstream, func(t *dags.Task) bool { return t.IsTeardown })
		if len(c.teardownsOfSetup) > 0 && !sameTasks(c.teardownsOfSetup, teardowns) {
			c.prevTeardownsOfSetup = append(c.prevTeardownsOfSetup, c.teardownsOfSetup)
		}
		c.teardownsOfSetup = teardowns
	}
	c.active = true
}

// nearestOf returns the tasks that match among start, or else among the
// tasks next to them (either way, never from), and so on outwards: the
// teardowns nearest a setup, or the setups nearest a teardown (Airflow's
// _get_teardowns and _get_setups). Where Airflow's recursion would never
// end (no match anywhere), it returns none.
func nearestOf(d *dags.DAG, from *dags.Task, start []string, match func(*dags.Task) bool) []*dags.Task {
	seen := map[string]bool{from.ID: true}
	level := start
	for len(level) > 0 {
		var found, tasks []*dags.Task
		for _, id := range level {
			if seen[id] {
				continue
			}
			seen[id] = true
			t := d.Task(id)
			tasks = append(tasks, t)
			if match(t) {
				found = append(found, t)
			}
		}
		if len(found) > 0 {
			return found
		}
		var next []string
		for _, t := range tasks {
			next = append(next, t.Downstream...)
			next = append(next, t.Upstream...)
		}
		level = next
	}
	return nil
}

// exit leaves the innermost context (set_work_task_roots_and_leaves).
func (c *stContext) exit(l linker) {
	work := func(key []*dags.Task) []*dags.Task {
		var out []*dags.Task
		for _, t := range c.contextMap[stKey(key)] {
			if !t.IsSetup && !t.IsTeardown && !t.IsMapped() {
				out = append(out, t)
			}
		}
		return out
	}
	noUp := func(ts []*dags.Task) (out []*dags.Task) {
		for _, t := range ts {
			if len(t.Upstream) == 0 {
				out = append(out, t)
			}
		}
		return out
	}
	noDown := func(ts []*dags.Task) (out []*dags.Task) {
		for _, t := range ts {
			if len(t.Downstream) == 0 {
				out = append(out, t)
			}
		}
		return out
	}
	if len(c.setup) > 0 {
		if in := work(c.setup); len(in) > 0 {
			if roots := noUp(in); len(roots) == 0 {
				l.link(c.setup, in[:1])
			} else {
				l.link(c.setup, roots)
			}
			leaves := noDown(in)
			if len(leaves) == 0 {
				leaves = in[len(in)-1:]
			}
			// set_teardown_task_as_leaves
			if len(c.teardown) > 0 {
				l.link(c.teardown, c.teardownsOfSetup)
			} else {
				l.link(leaves, c.teardownsOfSetup)
			}
		}
	}
	if len(c.teardown) > 0 {
		if in := work(c.teardown); len(in) > 0 {
			if leaves := noDown(in); len(leaves) == 0 {
				l.link(in[len(in)-1:], c.teardown)
			} else {
				l.link(leaves, c.teardown)
			}
			roots := noUp(in)
			if len(roots) == 0 {
				roots = in[:1]
			}
			// set_setup_task_as_roots
			if len(c.setup) > 0 {
				l.link(c.setupsOfTeardown, c.setup)
			} else {
				l.link(c.setupsOfTeardown, roots)
			}
		}
	}
	// set_setup_teardown_relationships: pop everything, linking an outer
	// setup to the inner one and the inner teardown to the outer one.
	oldSetup, oldTeardown := c.setup, c.teardown
	if n := len(c.prevSetup); n > 0 {
		c.setup, c.prevSetup = c.prevSetup[n-1], c.prevSetup[:n-1]
		if len(c.setup) > 0 && len(oldSetup) > 0 {
			l.link(c.setup, oldSetup)
		}
	} else {
		c.setup = nil
	}
	if n := len(c.prevTeardown); n > 0 {
		c.teardown, c.prevTeardown = c.prevTeardown[n-1], c.prevTeardown[:n-1]
		if len(c.teardown) > 0 && len(oldTeardown) > 0 {
			l.link(oldTeardown, c.teardown)
		}
	} else {
		c.teardown = nil
	}
	old := c.teardownsOfSetup
	if n := len(c.prevTeardownsOfSetup); n > 0 {
		c.teardownsOfSetup, c.prevTeardownsOfSetup = c.prevTeardownsOfSetup[n-1], c.prevTeardownsOfSetup[:n-1]
		if len(c.teardownsOfSetup) > 0 && len(old) > 0 {
			l.link(old, c.teardownsOfSetup)
		}
	} else {
		c.teardownsOfSetup = nil
	}
	old = c.setupsOfTeardown
	if n := len(c.prevSetupsOfTeardown); n > 0 {
		c.setupsOfTeardown, c.prevSetupsOfTeardown = c.prevSetupsOfTeardown[n-1], c.prevSetupsOfTeardown[:n-1]
		if len(c.setupsOfTeardown) > 0 && len(old) > 0 {
			l.link(c.setupsOfTeardown, old)
		}
	} else {
		c.setupsOfTeardown = nil
	}
	delete(c.contextMap, stKey(oldSetup))
	delete(c.contextMap, stKey(oldTeardown))
	// As in Airflow, leaving any context, even a nested one, ends
	// recording: tasks created after a nested within() inside an outer
	// one are not in the outer scope.
	c.active = false
}

// withinFn implements within(tasks, build).
func withinFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		tasksV starlark.Value
		build  starlark.Callable
	)
	if err := unpack(fn.Name(), args, kwargs, 2, "tasks", &tasksV, "build", &build); err != nil {
		return nil, err
	}
	s := SessionOf(thread)
	b, err := s.builder(thread, fn.Name())
	if err != nil {
		return nil, err
	}
	var items []starlark.Value
	if list, ok := asList(tasksV); ok {
		items = list
	} else {
		items = []starlark.Value{tasksV}
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("within: got an empty list; give a setup or teardown task, or a list of them")
	}
	var ts []*dags.Task
	for _, v := range items {
		t, err := scopeTask("within", b, v)
		if err != nil {
			return nil, err
		}
		if !t.IsSetup && !t.IsTeardown {
			return nil, fmt.Errorf("within: only setup and teardown tasks can scope other tasks, and task %q is neither (create it with setup(...) or teardown(...), or mark it with as_setup() or as_teardown())", t.ID)
		}
		ts = append(ts, t)
	}
	for _, t := range ts[1:] {
		if t.IsSetup != ts[0].IsSetup {
			return nil, fmt.Errorf("within: all tasks in the list must be either setup or teardown tasks")
		}
	}
	var params starlark.Tuple
	if f, ok := build.(*starlark.Function); ok && f.NumParams() > 0 {
		params = starlark.Tuple{&Scope{builder: b}}
	}
	b.st.push(b.dag, ts)
	if _, err := starlark.Call(thread, build, params, nil); err != nil {
		return nil, err
	}
	b.st.exit(linker{d: b.dag, pos: callerPos(thread)})
	return starlark.None, nil
}

// scopeTask returns the task of v, a task or a task's output, of DAG b.
func scopeTask(what string, b *dagBuilder, v starlark.Value) (*dags.Task, error) {
	var t *Task
	switch v := v.(type) {
	case *Task:
		t = v
	case *XComArg:
		if ts := v.tasks(); v.op == "" && len(ts) == 1 {
			t = ts[0]
		}
	}
	if t == nil {
		return nil, fmt.Errorf("%s: got %s, want a task or a task's output", what, v.Type())
	}
	if t.builder != b {
		return nil, fmt.Errorf("%s: task %q belongs to DAG %q, not to DAG %q being built", what, t.task.ID, t.builder.dag.ID, b.dag.ID)
	}
	return t.task, nil
}

// Scope is what within() passes to a build function that takes a
// parameter: Airflow's `with ... as scope`, whose add_task puts a task
// created elsewhere in the context.
type Scope struct {
	builder *dagBuilder
}

var _ starlark.HasAttrs = (*Scope)(nil)

// String returns <scope>.
func (s *Scope) String() string { return "<scope>" }

// Type returns "scope".
func (s *Scope) Type() string { return "scope" }

// Freeze does nothing.
func (s *Scope) Freeze() {}

// Truth returns True.
func (s *Scope) Truth() starlark.Bool { return starlark.True }

// Hash fails: a scope is not hashable.
func (s *Scope) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: scope") }

// Attr returns add_task.
func (s *Scope) Attr(name string) (starlark.Value, error) {
	if name != "add_task" {
		return nil, nil
	}
	return Safe("add_task", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var v starlark.Value
		if err := unpack(fn.Name(), args, kwargs, 1, "task", &v); err != nil {
			return nil, err
		}
		b := s.builder
		if b.done || !b.st.active {
			return nil, fmt.Errorf("add_task: cannot add a task to a scope outside its within() call")
		}
		t, err := scopeTask("add_task", b, v)
		if err != nil {
			return nil, err
		}
		b.st.record(t)
		return starlark.None, nil
	}), nil
}

// AttrNames lists add_task.
func (s *Scope) AttrNames() []string { return []string{"add_task"} }

// setupFn implements setup(fn, task_id=None, args=[], kwargs={},
// ...common): Airflow's @setup on a task function.
func setupFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	t, _, err := callableTask(thread, fn, args, kwargs, dags.OperatorTask, nil)
	if err != nil {
		return nil, err
	}
	t.task.IsSetup = true
	return t, nil
}

// teardownFn implements teardown(fn, task_id=None, args=[], kwargs={},
// on_failure_fail_dagrun=False, ...common): Airflow's @teardown on a
// task function. As in Airflow, a teardown's trigger rule is always
// all_done_setup_success and cannot be given.
func teardownFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	for _, kv := range kwargs {
		if string(kv[0].(starlark.String)) == "trigger_rule" {
			return nil, fmt.Errorf("teardown: trigger_rule cannot be set: a teardown's rule is always all_done_setup_success")
		}
	}
	failRun := false
	t, _, err := callableTask(thread, fn, args, kwargs, dags.OperatorTask, []any{"on_failure_fail_dagrun?", &failRun})
	if err != nil {
		return nil, err
	}
	t.task.IsTeardown = true
	t.task.TriggerRule = dags.TriggerAllDoneSetupSuccess
	t.task.OnFailureFailDagrun = failRun
	return t, nil
}

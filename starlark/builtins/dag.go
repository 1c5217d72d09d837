package builtins

import (
	"fmt"
	"slices"
	"time"
	_ "time/tzdata" // timezones resolve the same on every host, with or without zoneinfo files

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// dagBuilder is a DAG under construction: the dags.DAG, its default_args,
// the stack of groups whose build functions are running, and the branch
// tasks to check once the DAG is complete.
type dagBuilder struct {
	session  *Session
	dag      *dags.DAG
	defaults commonArgs
	groups   []*groupFrame
	st       stContext // within()'s setup/teardown scopes
	branches []branchTask
	funcs    map[string]starlark.Callable // by function key
	findings []dags.Finding
	// searchPath is template_searchpath: folders, slash paths from the
	// DAG folder root, where template files are looked up after the DAG
	// file's folder.
	searchPath []string
	done       bool
}

// groupFrame is a group whose build function is running.
type groupFrame struct {
	group    *Group
	prefix   bool // prefix_group_id
	defaults commonArgs
	// mapped is set for a group built by expand: its tasks are mapped
	// over the group's arguments.
	mapped *dags.MappedGroup
}

// branchTask is a branch task with the callable that decides it.
type branchTask struct {
	task *dags.Task
	fn   starlark.Callable
}

// childID returns the id of a task or group labelled label created in the
// innermost running group, as Airflow's TaskGroup.child_id does.
func (b *dagBuilder) childID(label string) string {
	if n := len(b.groups); n > 0 && b.groups[n-1].prefix {
		return b.groups[n-1].group.id + "." + label
	}
	return label
}

// currentDefaults returns the default_args in force: the innermost
// group's (which already include the outer ones) or the DAG's.
func (b *dagBuilder) currentDefaults() commonArgs {
	if n := len(b.groups); n > 0 {
		return b.groups[n-1].defaults
	}
	return b.defaults
}

// newTask creates a task of kind labelled label with the common keywords
// of the call, adds it to the DAG and the running groups, and returns its
// value. fnName names the builtin in errors.
func (s *Session) newTask(thread *starlark.Thread, fnName, kind, label string, explicit *commonArgs) (*Task, error) {
	b, err := s.builder(thread, fnName)
	if err != nil {
		return nil, err
	}
	if label == "" {
		return nil, fmt.Errorf("%s: task_id must not be empty", fnName)
	}
	t := dags.NewTask(b.childID(label), kind, callerPos(thread))
	if n := len(b.groups); n > 0 {
		t.Group = b.groups[n-1].group.id
	}
	for _, g := range b.groups {
		if g.mapped != nil {
			t.MapGroup = g.mapped
		}
	}
	args := b.currentDefaults().over(explicit)
	register := func(key string, fn starlark.Callable) { s.register(b, key, fn) }
	if err := args.apply(fnName, t, b.dag, register); err != nil {
		return nil, err
	}
	if b.dag.Task(t.ID) == nil {
		for _, g := range b.groups {
			g.group.members = append(g.group.members, t)
		}
	}
	b.dag.AddTask(t)
	if b.st.active {
		b.st.record(t)
	}
	return &Task{task: t, builder: b}, nil
}

// timezoneGiven tells whether dag() got timezone= explicitly.
func timezoneGiven(kwargs []starlark.Tuple) bool {
	for _, kv := range kwargs {
		if string(kv[0].(starlark.String)) == "timezone" {
			return true
		}
	}
	return false
}

// dagFn implements dag(dag_id, build, ...).
func dagFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		dagID                string
		build                starlark.Callable
		schedule             starlark.Value = starlark.None
		startDate, endDate   starlark.Value = starlark.None, starlark.None
		catchup              bool
		defaultArgs, params  *starlark.Dict
		maxActiveRuns        = dags.DefaultMaxActiveRuns
		maxActiveTasks       = dags.DefaultMaxActiveTasks
		tags                 *starlark.List
		description, docMD   string
		displayName          string
		timezone                            = "UTC"
		dagrunTimeout        starlark.Value = starlark.None
		onSuccess, onFailure starlark.Value = starlark.None, starlark.None
		onSLAMiss            starlark.Value = starlark.None
		isPausedUponCreation bool
		templateUndefined                   = "StrictUndefined"
		searchPath           starlark.Value = starlark.None
	)
	if err := unpack(fn.Name(), args, kwargs, 2,
		"dag_id", &dagID,
		"build", &build,
		"schedule?", &schedule,
		"start_date?", &startDate,
		"end_date?", &endDate,
		"catchup?", &catchup,
		"default_args?", &defaultArgs,
		"params?", &params,
		"max_active_runs?", &maxActiveRuns,
		"max_active_tasks?", &maxActiveTasks,
		"tags?", &tags,
		"description?", &description,
		"doc_md?", &docMD,
		"dag_display_name?", &displayName,
		"timezone?", &timezone,
		"dagrun_timeout?", &dagrunTimeout,
		"on_success_callback?", &onSuccess,
		"on_failure_callback?", &onFailure,
		"sla_miss_callback?", &onSLAMiss,
		"is_paused_upon_creation?", &isPausedUponCreation,
		"template_undefined?", &templateUndefined,
		"template_searchpath?", &searchPath,
	); err != nil {
		return nil, err
	}
	s := SessionOf(thread)
	if s == nil || s.finished {
		return nil, fmt.Errorf("dag: DAGs can only be defined while a DAG file is parsed")
	}
	if s.current != nil {
		return nil, fmt.Errorf("dag: cannot define DAG %q inside the build function of DAG %q; call dag() at the top level of the file", dagID, s.current.dag.ID)
	}
	pos := callerPos(thread)
	d := dags.New(dagID, pos)
	d.Description, d.DocMD, d.DisplayName = description, docMD, displayName
	d.Catchup, d.IsPausedUponCreation = catchup, isPausedUponCreation
	d.MaxActiveRuns, d.MaxActiveTasks = maxActiveRuns, maxActiveTasks
	switch templateUndefined {
	case "StrictUndefined", "jinja2.StrictUndefined":
	case "Undefined", "jinja2.Undefined":
		d.LenientUndefined = true
	default:
		return nil, fmt.Errorf("dag: for parameter template_undefined: got %q, want \"StrictUndefined\" (the default: an undefined name in a template fails the task, as in Airflow) or \"Undefined\" (it renders empty)", templateUndefined)
	}

	if tt, ok := schedule.(Timetable); ok && tt.timezone != "" && tt.timezone != timezone {
		// The timetable's timezone becomes the DAG's: Starflow evaluates
		// a schedule in the DAG's timezone.
		if timezoneGiven(kwargs) {
			return nil, fmt.Errorf("dag: the schedule's timezone %q differs from timezone %q: Starflow evaluates the schedule in the DAG's timezone; give one of them", tt.timezone, timezone)
		}
		timezone = tt.timezone
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil || timezone == "" || timezone == "Local" {
		return nil, fmt.Errorf("dag: unknown timezone %q (write an IANA name such as \"UTC\" or \"Europe/Amsterdam\")", timezone)
	}
	d.Timezone = loc
	if d.Schedule, err = scheduleOf(schedule); err != nil {
		return nil, fmt.Errorf("dag: for parameter schedule: %w", err)
	}
	if startDate != starlark.None {
		if d.StartDate, err = dateOf(startDate, loc); err != nil {
			return nil, fmt.Errorf("dag: for parameter start_date: %w", err)
		}
	}
	if endDate != starlark.None {
		if d.EndDate, err = dateOf(endDate, loc); err != nil {
			return nil, fmt.Errorf("dag: for parameter end_date: %w", err)
		}
	}
	if dagrunTimeout != starlark.None {
		if d.DagrunTimeout, err = durationOf(dagrunTimeout); err != nil {
			return nil, fmt.Errorf("dag: for parameter dagrun_timeout: %w", err)
		}
	}
	if params != nil {
		if d.Params, d.ParamSpecs, err = paramsOf(params); err != nil {
			return nil, fmt.Errorf("dag: for parameter params: %w", err)
		}
		if err := d.CheckParamDefaults(); err != nil {
			return nil, fmt.Errorf("dag: for parameter params: %w", err)
		}
	}
	if tags != nil {
		for i := 0; i < tags.Len(); i++ {
			tag, ok := tags.Index(i).(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dag: for parameter tags: got %s, want a list of strings", tags.Index(i).Type())
			}
			d.Tags = append(d.Tags, string(tag))
		}
	}
	b := &dagBuilder{session: s, dag: d}
	if b.searchPath, err = searchPathOf(s.entryDir, searchPath); err != nil {
		return nil, fmt.Errorf("dag: for parameter template_searchpath: %w", err)
	}
	if b.defaults, err = defaultArgsOf("dag", defaultArgs, d); err != nil {
		return nil, err
	}
	for _, cb := range []struct {
		name string
		v    starlark.Value
		set  *[]dags.Callback
	}{
		{"on_success_callback", onSuccess, &d.Callbacks.OnSuccess},
		{"on_failure_callback", onFailure, &d.Callbacks.OnFailure},
		{"sla_miss_callback", onSLAMiss, &d.Callbacks.OnSLAMiss},
	} {
		items, err := callbacksOf(cb.v)
		if err != nil {
			return nil, fmt.Errorf("dag: for parameter %s: %w", cb.name, err)
		}
		*cb.set = modelCallbacks(items, dagID+":"+cb.name, func(key string, fn starlark.Callable) { s.register(b, key, fn) })
	}
	if prev, dup := s.byID[dagID]; dup {
		b.findings = append(b.findings, dags.Finding{Pos: pos, Rule: dags.RuleDuplicateDAG,
			Message: fmt.Sprintf("DAG id %q is already used by the DAG defined at %s", dagID, prev.dag.Pos)})
	} else {
		s.byID[dagID] = b
	}
	s.builders = append(s.builders, b)

	s.current = b
	_, err = starlark.Call(thread, build, nil, nil)
	s.current = nil
	if err != nil {
		return nil, err
	}
	b.resolveBranches()
	inheritTaskDates(d)
	b.findings = append(b.findings, d.Finalize()...)
	b.done = true
	return DAG{id: dagID}, nil
}

// inheritTaskDates gives d, when it has no start_date of its own, the
// earliest start_date of its tasks (one given in default_args, say), as
// Airflow's DAG falls back to its tasks' start dates.
func inheritTaskDates(d *dags.DAG) {
	if !d.StartDate.IsZero() {
		return
	}
	for _, t := range d.Tasks() {
		if !t.StartDate.IsZero() && (d.StartDate.IsZero() || t.StartDate.Before(d.StartDate)) {
			d.StartDate = t.StartDate
		}
	}
}

// groupFn implements group(group_id, build, default_args={}, prefix_group_id=True,
// tooltip=""). tooltip is accepted as Airflow's TaskGroup takes it (a hover text
// in Airflow's UI); Starflow's UI does not show it.
func groupFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		groupID     string
		build       starlark.Callable
		defaultArgs *starlark.Dict
		prefix      = true
		tooltip     string
	)
	if err := unpack(fn.Name(), args, kwargs, 2,
		"group_id", &groupID,
		"build", &build,
		"default_args?", &defaultArgs,
		"prefix_group_id?", &prefix,
		"tooltip?", &tooltip,
	); err != nil {
		return nil, err
	}
	s := SessionOf(thread)
	b, err := s.builder(thread, fn.Name())
	if err != nil {
		return nil, err
	}
	if groupID == "" {
		return nil, fmt.Errorf("group: group_id must not be empty")
	}
	own, err := defaultArgsOf("group", defaultArgs, b.dag)
	if err != nil {
		return nil, err
	}
	g := &Group{id: b.childID(groupID), builder: b}
	for _, outer := range b.groups {
		if outer.group.id == g.id {
			return nil, fmt.Errorf("group: group %q is already being built", g.id)
		}
	}
	frame := &groupFrame{group: g, prefix: prefix, defaults: b.currentDefaults().over(&own)}
	if f, ok := build.(*starlark.Function); ok && requiredParams(f) > 0 {
		// A group function (Airflow's @task_group with parameters): built
		// when called or expanded.
		return &GroupFn{frame: frame, parents: slices.Clone(b.groups), build: f, pos: callerPos(thread)}, nil
	}
	b.groups = append(b.groups, frame)
	_, err = starlark.Call(thread, build, nil, nil)
	b.groups = b.groups[:len(b.groups)-1]
	if err != nil {
		return nil, err
	}
	return g, nil
}

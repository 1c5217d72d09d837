package dags

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Defaults for DAG settings, as in Airflow.
const (
	DefaultMaxActiveRuns  = 16
	DefaultMaxActiveTasks = 16
)

// DAG is a validated graph of tasks with its schedule and settings. Build
// one with New, AddTask and Connect, then call Finalize.
type DAG struct {
	ID string
	// DisplayName is the name the UI, API and CLI show instead of the id
	// (Airflow's dag_display_name); empty means the id. The id stays the
	// key everywhere.
	DisplayName string
	Description string
	DocMD       string
	Schedule    Schedule
	// StartDate and EndDate bound the scheduled runs; zero when unset.
	StartDate time.Time
	EndDate   time.Time
	// Timezone is the zone cron schedules are evaluated in.
	Timezone       *time.Location
	Catchup        bool
	MaxActiveRuns  int
	MaxActiveTasks int
	DagrunTimeout  time.Duration
	Tags           []string
	Params         map[string]any
	// ParamSpecs are the params declared with Param(...), by name: their
	// schema, checked by ResolveParams when a run is triggered. Params
	// holds their defaults.
	ParamSpecs           map[string]*ParamSpec
	IsPausedUponCreation bool
	Callbacks            Callbacks
	// LenientUndefined makes an undefined name in a template render empty
	// (Airflow's DAG(template_undefined=jinja2.Undefined)); by default it
	// is an error, as with Airflow's default jinja2.StrictUndefined.
	LenientUndefined bool

	// File is the DAG file's path as the loader names it, and Pos the
	// position of the dag() call.
	File string
	Pos  Pos
	// SourceHash identifies the source the DAG was built from (the file and
	// the modules it loads); a run is pinned to it.
	SourceHash string

	tasks     map[string]*Task
	order     []*Task              // definition order; topological after a clean Finalize
	index     map[string]int       // position of each task in order
	edgePos   map[[2]string]Pos    // where each edge was made
	edgeSeq   map[[2]string]int    // creation order of each edge
	edgeLabel map[[2]string]string // Label("...") of an edge, when it has one
	base      *DAG                 // the whole DAG, for a run's view made by ForRun
	groups    map[string]bool      // task-group ids, set by Finalize
	findings  []Finding
	setup     *setupInfo // set by Finalize when the DAG has setups or teardowns
	finalized bool
	sorted    bool // order is topological
}

// New returns an empty DAG with Airflow's defaults.
func New(id string, pos Pos) *DAG {
	return &DAG{
		ID:             id,
		Timezone:       time.UTC,
		MaxActiveRuns:  DefaultMaxActiveRuns,
		MaxActiveTasks: DefaultMaxActiveTasks,
		Params:         map[string]any{},
		Pos:            pos,
		File:           pos.File,
		tasks:          map[string]*Task{},
		index:          map[string]int{},
		edgePos:        map[[2]string]Pos{},
		edgeSeq:        map[[2]string]int{},
	}
}

// Label returns the DAG's display name, or its id when it has none (as
// Airflow's dag_display_name property falls back to dag_id).
func (d *DAG) Label() string {
	if d.DisplayName != "" {
		return d.DisplayName
	}
	return d.ID
}

// AddTask adds t to the DAG. A duplicate id is recorded as a finding, not
// returned, so that building goes on and every problem is reported at once.
func (d *DAG) AddTask(t *Task) {
	if prev, ok := d.tasks[t.ID]; ok {
		d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleDuplicateTask,
			Message: fmt.Sprintf("task id %q in DAG %q is already used by the task defined at %s", t.ID, d.ID, prev.Pos)})
		return
	}
	d.tasks[t.ID] = t
	d.index[t.ID] = len(d.order)
	d.order = append(d.order, t)
}

// Connect adds the edge upstream >> downstream, made at pos. Unknown ids and
// self-edges are recorded as findings; an edge made twice counts once, at
// the position it was first made.
func (d *DAG) Connect(upstream, downstream string, pos Pos) {
	up, ok1 := d.tasks[upstream]
	down, ok2 := d.tasks[downstream]
	if !ok1 {
		d.findings = append(d.findings, Finding{Pos: pos, Rule: RuleUnknownTask, Message: fmt.Sprintf("unknown task %q in DAG %q", upstream, d.ID)})
	}
	if !ok2 {
		d.findings = append(d.findings, Finding{Pos: pos, Rule: RuleUnknownTask, Message: fmt.Sprintf("unknown task %q in DAG %q", downstream, d.ID)})
	}
	switch {
	case !ok1 || !ok2:
		return
	case upstream == downstream:
		d.findings = append(d.findings, Finding{Pos: pos, Rule: RuleSelfDependency, Message: fmt.Sprintf("task %q cannot depend on itself", upstream)})
		return
	}
	key := [2]string{upstream, downstream}
	if _, dup := d.edgePos[key]; dup {
		return
	}
	d.edgePos[key] = pos
	d.edgeSeq[key] = len(d.edgeSeq)
	up.Downstream = append(up.Downstream, downstream)
	down.Upstream = append(down.Upstream, upstream)
}

// SetEdgeLabel labels the edge upstream >> downstream, as Airflow's
// Label("text") does; it reports false when there is no such edge. An
// empty label removes it.
func (d *DAG) SetEdgeLabel(upstream, downstream, label string) bool {
	key := [2]string{upstream, downstream}
	if _, ok := d.edgePos[key]; !ok {
		return false
	}
	if label == "" {
		delete(d.edgeLabel, key)
		return true
	}
	if d.edgeLabel == nil {
		d.edgeLabel = map[[2]string]string{}
	}
	d.edgeLabel[key] = label
	return true
}

// EdgeLabel returns the label of the edge upstream >> downstream, or "".
func (d *DAG) EdgeLabel(upstream, downstream string) string {
	return d.edgeLabel[[2]string{upstream, downstream}]
}

// AddFinding records a problem found while building the DAG (by the
// loader, for example); Finalize returns it with its own findings.
func (d *DAG) AddFinding(f Finding) { d.findings = append(d.findings, f) }

// dagIDPattern is what Airflow allows in dag and task ids (KEY_REGEX).
var dagIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

// runIDPattern is Airflow's [scheduler] allowed_run_id_pattern.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.~:+-]+$`)

// MaxIDLength is Airflow's limit on dag, task and run ids.
const MaxIDLength = 250

// ValidID reports whether id may be a dag or task id: 1 to 250 letters,
// digits, '_', '.' or '-' (Airflow's KEY_REGEX and ID_LEN), and not "." or
// "..", which would name a folder in log paths and URLs.
func ValidID(id string) bool {
	return dagIDPattern.MatchString(id) && len(id) <= MaxIDLength && id != "." && id != ".."
}

// CheckRunID returns an error unless id may be a run id: 1 to 250 letters,
// digits or '_', '.', '~', ':', '+', '-' (Airflow's allowed_run_id_pattern),
// and not "." or "..".
func CheckRunID(id string) error {
	if !runIDPattern.MatchString(id) || len(id) > MaxIDLength || id == "." || id == ".." {
		return fmt.Errorf("run_id %q must be 1-%d letters, digits or _ . ~ : + - (and not . or ..)", id, MaxIDLength)
	}
	return nil
}

// Finalize validates the DAG and computes its topological order. It returns
// every problem found; a DAG with findings must not be scheduled.
func (d *DAG) Finalize() []Finding {
	if d.finalized {
		return d.findings
	}
	d.finalized = true
	if !ValidID(d.ID) {
		d.findings = append(d.findings, Finding{Pos: d.Pos, Rule: RuleInvalidDAGID,
			Message: fmt.Sprintf("dag_id %q must be 1-250 letters, digits, '_', '.' or '-' (and not . or ..)", d.ID)})
	}
	if len(d.tasks) == 0 {
		d.findings = append(d.findings, Finding{Pos: d.Pos, Rule: RuleEmptyDAG,
			Message: fmt.Sprintf("DAG %q has no tasks: create them inside its build function", d.ID)})
	}
	if !d.StartDate.IsZero() && !d.EndDate.IsZero() && d.StartDate.After(d.EndDate) {
		d.findings = append(d.findings, Finding{Pos: d.Pos, Rule: RuleDateOrder,
			Message: fmt.Sprintf("start_date %s is after end_date %s", d.StartDate.Format(time.RFC3339), d.EndDate.Format(time.RFC3339))})
	}
	for _, t := range d.order {
		sort.Strings(t.Upstream)
		sort.Strings(t.Downstream)
		if _, err := ParseTriggerRule(string(t.TriggerRule)); err != nil {
			d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleTriggerRule, Message: fmt.Sprintf("task %q: %v", t.ID, err)})
		}
		if _, err := ParseWeightRule(string(t.WeightRule)); err != nil {
			d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleWeightRule, Message: fmt.Sprintf("task %q: %v", t.ID, err)})
		}
		if t.Retries < 0 {
			d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleInvalidValue, Message: fmt.Sprintf("task %q: retries must not be negative, got %d", t.ID, t.Retries)})
		}
		if t.PoolSlots < 1 {
			d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleInvalidValue, Message: fmt.Sprintf("task %q: pool_slots must be at least 1, got %d", t.ID, t.PoolSlots)})
		}
		if !ValidID(t.ID) {
			d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleInvalidValue,
				Message: fmt.Sprintf("task_id %q must be 1-250 letters, digits, '_', '.' or '-' (and not . or ..)", t.ID)})
		}
		for _, u := range t.Outlets {
			if err := CheckDatasetURI(u); err != nil {
				d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleInvalidValue, Message: fmt.Sprintf("task %q: outlets: %v", t.ID, err)})
			}
		}
		for _, v := range []struct {
			name string
			d    time.Duration
		}{{"retry_delay", t.RetryDelay}, {"max_retry_delay", t.MaxRetryDelay}, {"execution_timeout", t.ExecutionTimeout}} {
			if v.d < 0 {
				d.findings = append(d.findings, Finding{Pos: t.Pos, Rule: RuleInvalidValue, Message: fmt.Sprintf("task %q: %s must not be negative, got %s", t.ID, v.name, FormatDuration(v.d))})
			}
		}
	}
	if d.Schedule.Kind == ScheduleDatasets && d.Schedule.Cond == nil {
		d.findings = append(d.findings, Finding{Pos: d.Pos, Rule: RuleSchedule, Message: fmt.Sprintf("DAG %q: a dataset schedule lists no dataset", d.ID)})
	}
	if c := d.Schedule.Cond; c != nil {
		if err := c.Check(); err != nil {
			d.findings = append(d.findings, Finding{Pos: d.Pos, Rule: RuleSchedule, Message: fmt.Sprintf("DAG %q: schedule: %v", d.ID, err)})
		}
	}
	if d.DagrunTimeout < 0 {
		d.findings = append(d.findings, Finding{Pos: d.Pos, Rule: RuleInvalidValue,
			Message: fmt.Sprintf("DAG %q: dagrun_timeout must not be negative, got %s", d.ID, FormatDuration(d.DagrunTimeout))})
	}
	d.groups = collectGroupIDs(d.order)
	if cycle := d.findCycle(); cycle != nil {
		pos := d.edgePos[[2]string{cycle[len(cycle)-2], cycle[len(cycle)-1]}]
		d.findings = append(d.findings, Finding{Pos: pos, Rule: RuleCycle,
			Message: fmt.Sprintf("DAG %q has a cycle: %s", d.ID, strings.Join(cycle, " >> "))})
	} else {
		d.sortTopologically()
		d.sorted = true
		d.setup = d.computeSetup()
	}
	d.findings = append(d.findings, d.checkSetupTeardown()...)
	sort.SliceStable(d.findings, func(i, j int) bool {
		a, b := d.findings[i].Pos, d.findings[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return d.findings
}

// findCycle returns one cycle as a path whose first and last ids are the
// same ("a >> b >> c >> a"), or nil. The path ends with the edge of the cycle
// that was made last, the one that closed it, so the finding points there.
func (d *DAG) findCycle() []string {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(d.tasks))
	var stack []string
	var found []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		for _, next := range d.tasks[id].Downstream {
			switch color[next] {
			case grey:
				for i, s := range stack {
					if s == next {
						found = append(append([]string{}, stack[i:]...), next)
						return true
					}
				}
			case white:
				if visit(next) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	ids := d.TaskIDs()
	sort.Strings(ids)
	for _, id := range ids {
		if color[id] == white && visit(id) {
			return d.closeLast(found)
		}
	}
	return nil
}

// closeLast rotates the cycle path c0 >> c1 >> ... >> c0 so that it ends
// with its most recently made edge.
func (d *DAG) closeLast(cycle []string) []string {
	ring := cycle[:len(cycle)-1]
	last, lastSeq := 0, -1
	for i := range ring {
		if seq := d.edgeSeq[[2]string{ring[i], ring[(i+1)%len(ring)]}]; seq > lastSeq {
			last, lastSeq = i, seq
		}
	}
	out := make([]string, 0, len(cycle))
	for i := range ring {
		out = append(out, ring[(last+1+i)%len(ring)])
	}
	return append(out, out[0])
}

// sortTopologically orders tasks so every task follows its upstream tasks;
// among tasks that are ready together, the one defined first comes first.
func (d *DAG) sortTopologically() {
	index := make(map[string]int, len(d.order))
	for i, t := range d.order {
		index[t.ID] = i
	}
	indeg := make(map[string]int, len(d.order))
	for _, t := range d.order {
		indeg[t.ID] = len(t.Upstream)
	}
	ready := &idHeap{index: index}
	for _, t := range d.order {
		if indeg[t.ID] == 0 {
			ready.push(t.ID)
		}
	}
	out := make([]*Task, 0, len(d.order))
	for ready.len() > 0 {
		id := ready.pop()
		t := d.tasks[id]
		out = append(out, t)
		for _, n := range t.Downstream {
			indeg[n]--
			if indeg[n] == 0 {
				ready.push(n)
			}
		}
	}
	d.order = out
	for i, t := range out {
		d.index[t.ID] = i
	}
}

// idHeap is a min-heap of task ids ordered by definition index.
type idHeap struct {
	ids   []string
	index map[string]int
}

func (h *idHeap) len() int { return len(h.ids) }

func (h *idHeap) push(id string) {
	h.ids = append(h.ids, id)
	i := len(h.ids) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.index[h.ids[p]] <= h.index[h.ids[i]] {
			break
		}
		h.ids[p], h.ids[i] = h.ids[i], h.ids[p]
		i = p
	}
}

func (h *idHeap) pop() string {
	top := h.ids[0]
	last := len(h.ids) - 1
	h.ids[0] = h.ids[last]
	h.ids = h.ids[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.ids) && h.index[h.ids[l]] < h.index[h.ids[m]] {
			m = l
		}
		if r < len(h.ids) && h.index[h.ids[r]] < h.index[h.ids[m]] {
			m = r
		}
		if m == i {
			return top
		}
		h.ids[m], h.ids[i] = h.ids[i], h.ids[m]
		i = m
	}
}

// Task returns the task with the given id, or nil.
func (d *DAG) Task(id string) *Task { return d.tasks[id] }

// TaskLabel returns the display name of the task with the given id (its
// task_display_name, its id when unset), or the id itself when d is nil
// or has no such task: what listings of task instances show.
func (d *DAG) TaskLabel(id string) string {
	if d == nil {
		return id
	}
	if t := d.tasks[id]; t != nil {
		return t.Label()
	}
	return id
}

// Tasks returns the tasks in topological order (after Finalize; in
// definition order before it). The slice must not be modified.
func (d *DAG) Tasks() []*Task { return d.order }

// TaskIndex returns the position of task id in Tasks (its rank in the
// topological order after Finalize), or -1 when the DAG has no such task.
// Evaluators use it to visit a few tasks in dependency order without
// sorting the whole DAG.
func (d *DAG) TaskIndex(id string) int {
	if i, ok := d.index[id]; ok {
		return i
	}
	return -1
}

// TaskIDs returns the task ids in the order of Tasks.
func (d *DAG) TaskIDs() []string {
	ids := make([]string, len(d.order))
	for i, t := range d.order {
		ids[i] = t.ID
	}
	return ids
}

// Len returns the number of tasks.
func (d *DAG) Len() int { return len(d.order) }

// EdgePos returns where the edge upstream >> downstream was made.
func (d *DAG) EdgePos(upstream, downstream string) (Pos, bool) {
	p, ok := d.edgePos[[2]string{upstream, downstream}]
	return p, ok
}

// Roots returns the tasks without upstream tasks.
func (d *DAG) Roots() []*Task {
	var out []*Task
	for _, t := range d.order {
		if len(t.Upstream) == 0 {
			out = append(out, t)
		}
	}
	return out
}

// Leaves returns the tasks without downstream tasks; a run's final state
// is decided by them.
func (d *DAG) Leaves() []*Task {
	var out []*Task
	for _, t := range d.order {
		if len(t.Downstream) == 0 {
			out = append(out, t)
		}
	}
	return out
}

// Descendants returns the ids of every task transitively downstream of the
// given tasks (not including them unless reachable from another), in the
// order of Tasks: topological after Finalize. Unknown ids are ignored.
func (d *DAG) Descendants(ids ...string) []string {
	return d.walk(ids, func(t *Task) []string { return t.Downstream })
}

// Ancestors returns the ids of every task transitively upstream of the
// given tasks (not including them unless reachable from another), in the
// order of Tasks: topological after Finalize. Unknown ids are ignored.
func (d *DAG) Ancestors(ids ...string) []string {
	return d.walk(ids, func(t *Task) []string { return t.Upstream })
}

// walk returns the ids reachable from start through next, in the order of
// Tasks.
func (d *DAG) walk(start []string, next func(*Task) []string) []string {
	seen := map[string]bool{}
	var out []string
	queue := append([]string(nil), start...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		t := d.tasks[id]
		if t == nil {
			continue
		}
		for _, n := range next(t) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
				queue = append(queue, n)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return d.index[out[i]] < d.index[out[j]] })
	return out
}

// GroupRoots returns the tasks of group groupID (at any depth) that have no
// upstream task inside the group; a branch that returns a group id follows
// these.
func (d *DAG) GroupRoots(groupID string) []string {
	if groupID == "" {
		return nil
	}
	// Membership goes by Task.Group as well as by the id prefix, so groups
	// made with prefix_group_id=False work too.
	inGroup := func(t *Task) bool {
		return t != nil && (t.Group == groupID || strings.HasPrefix(t.Group, groupID+".") || strings.HasPrefix(t.ID, groupID+"."))
	}
	var out []string
	for _, t := range d.order {
		if !inGroup(t) {
			continue
		}
		root := true
		for _, u := range t.Upstream {
			if inGroup(d.tasks[u]) {
				root = false
				break
			}
		}
		if root {
			out = append(out, t.ID)
		}
	}
	return out
}

// InRun reports whether task t is part of a run with the given logical
// date: its start_date is not after it and its end_date not before it.
// Backfill runs take every task. This is Airflow's task_filter of
// DagRun.verify_integrity, which creates no task instance for the others.
func (t *Task) InRun(logicalDate time.Time, backfill bool) bool {
	if backfill {
		return true
	}
	if !t.StartDate.IsZero() && t.StartDate.After(logicalDate) {
		return false
	}
	if !t.EndDate.IsZero() && logicalDate.After(t.EndDate) {
		return false
	}
	return true
}

// ForRun returns d as a run with the given logical date sees it: without
// the tasks that are not InRun, as Airflow gives them no task instance.
// Edges to and from a left-out task stay on the other tasks, so a task
// downstream of one waits for it (in Airflow the run then deadlocks) and
// a task upstream of one is no leaf. Priority weights stay those of the
// whole DAG. It returns d itself when every task is in the run; the copy
// shares d's tasks, which must not be modified.
func (d *DAG) ForRun(logicalDate time.Time, backfill bool) *DAG {
	keep := 0
	for _, t := range d.order {
		if t.InRun(logicalDate, backfill) {
			keep++
		}
	}
	if keep == len(d.order) {
		return d
	}
	c := *d
	c.base = d
	c.order = make([]*Task, 0, keep)
	c.tasks = make(map[string]*Task, keep)
	c.index = make(map[string]int, keep)
	for _, t := range d.order {
		if t.InRun(logicalDate, backfill) {
			c.tasks[t.ID] = t
			c.index[t.ID] = len(c.order)
			c.order = append(c.order, t)
		}
	}
	return &c
}

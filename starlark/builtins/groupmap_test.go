package builtins_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

// TestGroupFunctionCalledAgainGetsSuffixedIDs: as Airflow's @task_group
// function, each call after the first (or an expand after a call) builds a
// new group named group_id__1, group_id__2, ...
func TestGroupFunctionCalledAgainGetsSuffixedIDs(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(), `
def add(x):
    return x + 1

def tg(x):
    task(add, task_id = "a", args = [x])

def build():
    fn = group("g", tg)
    start = empty(task_id = "start")
    for i in range(3):
        start >> fn(i)
    fn.expand(x = [1, 2])
    group("outer", lambda: [fn(9), fn(10)])

dag(dag_id = "calls", build = build)
`)
	if len(f.Errors) > 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	d := f.DAGs[0]
	var ids []string
	for _, tk := range d.Tasks() {
		ids = append(ids, tk.ID)
	}
	want := "start g.a g__1.a g__2.a g__3.a g__4.a g__5.a"
	for _, id := range strings.Fields(want) {
		if d.Task(id) == nil {
			t.Fatalf("no task %s; the DAG has %v", id, ids)
		}
	}
	if d.Task("g__3.a").MapGroup == nil || d.Task("g__2.a").MapGroup != nil {
		t.Errorf("g__3 should be the mapped one, g__2 not")
	}
	desc := d.Descendants("start")
	sort.Strings(desc)
	if got := strings.Join(desc, " "); got != "g.a g__1.a g__2.a" {
		t.Errorf("start >> %s; want the three called groups", got)
	}
}

func TestGroupExpandMapsEveryTaskOfTheGroup(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(), `
def numbers():
    return [1, 2, 3]

def add(x, y = 0):
    return x + y

def tg(x, y):
    a = task(add, task_id = "a", args = [x], kwargs = {"y": y})
    b = bash(task_id = "b", bash_command = "echo b")
    a >> b
    return task(add, task_id = "c", args = [a.output])

def plain(x):
    task(add, task_id = "p", args = [x])

def build():
    n = task(numbers, task_id = "numbers")
    c = group("g", tg).partial(y = 1).expand(x = n.output)
    task(add, task_id = "after", args = [c.output])
    lit = group("lit", tg).expand(x = [1, 2], y = [10])
    lit >> empty(task_id = "end")
    group("once", plain)(x = 5)

dag(dag_id = "m", build = build)
`)
	if len(f.Errors) > 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	d := f.DAGs[0]
	for _, id := range []string{"g.a", "g.b", "g.c"} {
		tk := d.Task(id)
		if tk == nil || tk.MapGroup == nil || tk.MapGroup.ID != "g" || !tk.IsMapped() || len(tk.Expand) != 0 {
			t.Fatalf("task %s: not mapped by its group: %+v", id, tk)
		}
		if n, err := dags.MapLength(tk, func(dags.XComRef) (any, error) { return []any{1, 2, 3, 4}, nil }); n != 4 || err != nil {
			t.Errorf("MapLength(%s) = %d, %v; want the group's 4", id, n, err)
		}
	}
	want := []dags.MapArg{{Name: "x", Value: dags.XComRef{TaskID: "numbers", Key: "return_value"}}}
	if got := d.Task("g.a").MapGroup.Expand; !reflect.DeepEqual(got, want) {
		t.Errorf("group expand = %#v, want %#v", got, want)
	}
	ga := d.Task("g.a")
	if !reflect.DeepEqual(ga.Config["args"], []any{dags.XComRef{Group: "g", GroupArg: "x"}}) || ga.Config["kwargs"].(map[string]any)["y"] != int64(1) {
		t.Errorf("g.a config = %#v: want the group argument x and the constant y", ga.Config)
	}
	// The output mapped over comes before the group's roots.
	if !reflect.DeepEqual(ga.Upstream, []string{"numbers"}) || !reflect.DeepEqual(d.Task("g.b").Upstream, []string{"g.a"}) {
		t.Errorf("upstream: g.a %v, g.b %v", ga.Upstream, d.Task("g.b").Upstream)
	}
	// expand returns what the function returns (c), else the group.
	if !reflect.DeepEqual(d.Task("after").Upstream, []string{"g.c"}) {
		t.Errorf("after.Upstream = %v, want [g.c]", d.Task("after").Upstream)
	}
	if !reflect.DeepEqual(d.Task("end").Upstream, []string{"lit.c"}) {
		t.Errorf("end.Upstream = %v, want [lit.c], the task tg returns", d.Task("end").Upstream)
	}
	if n, _ := dags.MapLength(d.Task("lit.c"), nil); n != 2 {
		t.Errorf("lit has %d map indexes, want 2", n)
	}
	v, err := dags.GroupValues(d.Task("lit.a"), 1, nil, nil)
	if err != nil || !reflect.DeepEqual(v, map[string]any{"x": int64(2), "y": int64(10)}) {
		t.Errorf("GroupValues(lit.a, 1) = %v, %v", v, err)
	}
	// Called, the group function builds an unmapped group.
	if p := d.Task("once.p"); p == nil || p.IsMapped() || !reflect.DeepEqual(p.Config["args"], []any{int64(5)}) {
		t.Errorf("once.p = %+v", p)
	}
	if !dags.SameMapGroup(d.Task("g.a"), d.Task("g.c")) || dags.SameMapGroup(d.Task("g.a"), d.Task("lit.a")) {
		t.Error("SameMapGroup")
	}
}

func TestGroupExpandErrorsPointAtTheCall(t *testing.T) {
	t.Parallel()
	cases := []struct{ body, want string }{
		{`group("g", tg).expand(x = 3)`, "2:26: expand: for parameter x: got int, want a list, a dict or a task's output"},
		{`group("g", tg).expand()`, "expand: give at least one keyword argument"},
		{`group("g", tg).expand([1])`, "want keyword arguments only"},
		{`group("g", tg).expand(z = [1])`, "expand: group function tg has no parameter z"},
		{`group("g", tg).expand(xx = [1])`, "(did you mean x?)"},
		{`group("g", tg).partial(x = 1).expand(x = [1])`, "for parameter x: also given to partial"},
		{`group("g", tg).expand(x = list(range(1025)))`, "more than 1024 task instances"},
		{`group("g", empty_tg).expand(x = [1])`, "expand: group g has no task to map"},
		{`group("g", inner).expand(x = [1])`, "expand: task g.t is in the mapped group g, which maps it already"},
		{`group("g", nested).expand(x = [1])`, "expand: group g.h is inside the mapped group g; mapped groups cannot be nested"},
		{`task(f, task_id = "out", args = [group("g", leak).expand(x = [1])])`, "task: the argument x of mapped group g can only be used by the tasks inside that group"},
		{`group("g", mapover).expand(x = [1])`, "expand: task g.t is in the mapped group g"},
		{`group("g", zipped).expand(x = [1])`, "zip: cannot zip the argument x of mapped group g"},
		{`group("g", branched).expand(x = [1])`, "expand: task g.pick is a branch task; a mapped group cannot hold tasks that skip others"},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			t.Parallel()
			src := "def build():\n    " + c.body + `
def f(x = 0, y = 0):
    return x
def tg(x):
    task(f, task_id = "t", args = [x])
def empty_tg(x):
    pass
def inner(x):
    task(f, task_id = "t").expand(x = [1, 2])
def nested(x):
    group("h", tg).expand(x = [1])
def leak(x):
    task(f, task_id = "t", args = [x])
    return x
def mapover(x):
    task(f, task_id = "t").expand(x = x)
def branched(x):
    branch(lambda: "t", task_id = "pick") >> task(f, task_id = "t", args = [x])
def zipped(x):
    task(f, task_id = "t", args = [x.zip(x)])
dag(dag_id = "m", build = build)
`
			f := loadSource(t, specLoader(), src)
			if len(f.Errors) != 1 {
				t.Fatalf("errors = %v, want one", f.Errors)
			}
			if got := f.Errors[0].Error(); !strings.Contains(got, c.want) {
				t.Errorf("error = %q, want it to contain %q", got, c.want)
			}
		})
	}
}

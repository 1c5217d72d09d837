package builtins_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

func TestExpandMakesMappedTasks(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(probeSpec()), `
def numbers():
    return [1, 2, 3]

def add(x, y, z = 0):
    return x + y + z

def build():
    n = task(numbers, task_id = "numbers")
    lit = task(add, task_id = "lit").partial(z = 10).expand(x = [1, 2], y = {"a": 1})
    out = task(add, task_id = "out", kwargs = {"y": 1}).expand(x = n.output)
    p = partial(probe, task_id = "p", method = "POST").expand(url = ["http://a", "http://b"])
    b = partial(bash, task_id = "b").expand(bash_command = n.output)
    te = partial(task, add, task_id = "te", max_active_tis_per_dag = 2).expand(x = [1], y = [2])

dag(dag_id = "m", build = build)
`)
	if len(f.Errors) > 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	d := f.DAGs[0]
	lit := d.Task("lit")
	want := []dags.MapArg{{Name: "x", Value: []any{int64(1), int64(2)}}, {Name: "y", Value: map[string]any{"a": int64(1)}}}
	if !reflect.DeepEqual(lit.Expand, want) {
		t.Errorf("lit.Expand = %#v, want %#v", lit.Expand, want)
	}
	if kw := lit.Config["kwargs"].(map[string]any); kw["z"] != int64(10) {
		t.Errorf("partial(z = 10) not in kwargs: %v", kw)
	}
	out := d.Task("out")
	if !reflect.DeepEqual(out.Expand, []dags.MapArg{{Name: "x", Value: dags.XComRef{TaskID: "numbers", Key: "return_value"}}}) {
		t.Errorf("out.Expand = %#v", out.Expand)
	}
	if !reflect.DeepEqual(out.Upstream, []string{"numbers"}) || !reflect.DeepEqual(d.Task("b").Upstream, []string{"numbers"}) {
		t.Errorf("mapping over an output must add the edge: out.Upstream=%v b.Upstream=%v", out.Upstream, d.Task("b").Upstream)
	}
	p := d.Task("p")
	if p.Config["method"] != "POST" || !p.IsMapped() || p.Expand[0].Name != "url" {
		t.Errorf("partial(probe) task: config %v expand %v", p.Config, p.Expand)
	}
	if te := d.Task("te"); !te.IsMapped() || te.MaxActiveTIsPerDag != 2 {
		t.Errorf("partial(task, ...) task: expand %v max_active_tis_per_dag %d", te.Expand, te.MaxActiveTIsPerDag)
	}
	if !d.FeedsMapping(d.Task("numbers")) || d.FeedsMapping(lit) {
		t.Errorf("FeedsMapping: numbers=%v lit=%v", d.FeedsMapping(d.Task("numbers")), d.FeedsMapping(lit))
	}
	n, err := dags.MapLength(lit, nil)
	if err != nil || n != 2 {
		t.Fatalf("MapLength(lit) = %d, %v; want 2", n, err)
	}
	v, err := dags.MapValues(lit, 1, nil)
	if err != nil || !reflect.DeepEqual(v, map[string]any{"x": int64(2), "y": []any{"a", int64(1)}}) {
		t.Errorf("MapValues(lit, 1) = %v, %v", v, err)
	}
}

func TestExpandErrorsPointAtTheCall(t *testing.T) {
	t.Parallel()
	cases := []struct{ body, want string }{
		{`task(f, task_id = "t").expand(x = 3)`, "2:34: expand: for parameter x: got int, want a list, a dict or a task's output"},
		{`task(f, task_id = "t").expand()`, "expand: give at least one keyword argument"},
		{`task(f, task_id = "t").expand([1])`, "want keyword arguments only"},
		{`task(f, task_id = "t", kwargs = {"x": 1}).expand(x = [1])`, "for parameter x: also given as a constant"},
		{`task(f, task_id = "t").expand(x = [1]).expand(y = [2])`, "task t is already mapped"},
		{`bash(task_id = "b", bash_command = "x").expand(bash_comand = ["a"])`, "expand: bash has no argument bash_comand (did you mean bash_command?)"},
		{`partial(bash, task_id = "b").expand(bash_command = [1])`, "bash: for parameter bash_command: got int, want string"},
		{`partial(bash, task_id = "b", bash_command = "x").expand(bash_command = ["y"])`, "also given to partial"},
		{`task(f, task_id = "t").expand(x = list(range(1025)))`, "more than 1024 task instances"},
		{`branch(f, task_id = "t").expand(x = [1])`, "branch tasks cannot be mapped"},
		{`partial(3)`, "want an operator"},
		{`bash(task_id = "b", bash_command = "x").partial(y = 1)`, "only task() tasks take partial()"},
		{`task(f, task_id = "t", max_active_tis_per_dag = -1)`, "max_active_tis_per_dag: must be 0 (no limit) or more"},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			t.Parallel()
			src := "def build():\n    " + c.body + "\ndef f(x = 0, y = 0):\n    return x\ndag(dag_id = \"m\", build = build)\n"
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

func TestExpandKwargs(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(probeSpec()), `
def commands():
    return [{"bash_command": "echo a"}]

def add(x, y = 0):
    return x + y

def build():
    c = task(commands)
    lit = task(add, task_id = "lit").expand_kwargs([{"x": 1, "y": 2}, {"x": 3}])
    out = partial(bash, task_id = "say").expand_kwargs(c.output)
    p = partial(probe, task_id = "p").expand_kwargs([{"url": "http://a", "count": 1}])
    c >> lit

dag(dag_id = "m", build = build)
`)
	if len(f.Errors) > 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	d := f.DAGs[0]
	lit := d.Task("lit")
	v, err := dags.MapValues(lit, 1, nil)
	if err != nil || !reflect.DeepEqual(v, map[string]any{"x": int64(3)}) {
		t.Errorf("MapValues(lit, 1) = %v, %v; want the second dict", v, err)
	}
	if n, err := dags.MapLength(lit, nil); n != 2 || err != nil {
		t.Errorf("MapLength(lit) = %d, %v", n, err)
	}
	say := d.Task("say")
	if !reflect.DeepEqual(say.Expand, []dags.MapArg{{Value: dags.XComRef{TaskID: "commands", Key: "return_value"}}}) || !reflect.DeepEqual(say.Upstream, []string{"commands"}) {
		t.Errorf("say: expand %#v, upstream %v", say.Expand, say.Upstream)
	}
	v, err = dags.MapValues(say, 0, func(dags.XComRef) (any, error) { return []any{map[string]any{"bash_command": "echo b"}}, nil })
	if err != nil || v["bash_command"] != "echo b" {
		t.Errorf("MapValues(say, 0) = %v, %v", v, err)
	}
	if _, err := dags.MapValues(say, 0, func(dags.XComRef) (any, error) { return []any{"echo"}, nil }); err == nil || !strings.Contains(err.Error(), "item 0 is a string, want a dict of arguments") {
		t.Errorf("a non-dict item at run time: %v", err)
	}
	if p := d.Task("p"); p.Config["count"] != int64(1) || !p.IsMapped() {
		t.Errorf("partial(probe).expand_kwargs: config %v", p.Config)
	}
}

func TestExpandKwargsErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ body, want string }{
		{`task(f, task_id = "t").expand_kwargs([1])`, "expand_kwargs: item 0 is a int, want a dict of arguments"},
		{`task(f, task_id = "t").expand_kwargs({"x": 1})`, "expand_kwargs: got dict, want a list of dicts or a task's output"},
		{`task(f, task_id = "t", kwargs = {"x": 1}).expand_kwargs([{"x": 2}])`, "argument x is also given as a constant"},
		{`bash(task_id = "b", bash_command = "x").expand_kwargs([{"bash_comand": "y"}])`, "bash has no argument bash_comand (did you mean bash_command?)"},
		{`partial(bash, task_id = "b").expand_kwargs([{"bash_command": 3}])`, "bash: for parameter bash_command: got int, want string"},
		{`task(f, task_id = "t").expand_kwargs()`, "expand_kwargs: got 0 arguments, want 1"},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			t.Parallel()
			src := "def build():\n    " + c.body + "\ndef f(x = 0, y = 0):\n    return x\ndag(dag_id = \"m\", build = build)\n"
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

func TestOutputMap(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(), `
def words():
    return ["a", "b"]

def upper(w):
    return w.upper()

def build():
    w = task(words)
    task(upper, task_id = "m").expand(w = w.output.map(upper))

dag(dag_id = "m", build = build)
`)
	if len(f.Errors) > 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	m := f.DAGs[0].Task("m")
	ref, ok := m.Expand[0].Value.(dags.XComRef)
	if !ok || ref.TaskID != "words" || len(ref.MapFns) != 1 || !reflect.DeepEqual(m.Upstream, []string{"words"}) {
		t.Fatalf("expand over output.map: %#v, upstream %v", m.Expand, m.Upstream)
	}
	v, err := dags.MapValuesWith(m, 1, func(dags.XComRef) (any, error) { return []any{"a", "b"}, nil },
		func(key string, item any) (any, error) {
			if key != ref.MapFns[0] {
				t.Errorf("map function key %q, want %q", key, ref.MapFns[0])
			}
			return strings.ToUpper(item.(string)), nil
		})
	if err != nil || v["w"] != "B" {
		t.Errorf("MapValuesWith(m, 1) = %v, %v; want w = B", v, err)
	}
	if _, err := dags.MapValues(m, 0, func(dags.XComRef) (any, error) { return []any{"a"}, nil }); err == nil {
		t.Error("MapValues without a function runner applied nothing and did not fail")
	}
	for body, want := range map[string]string{
		`task(f, task_id = "t", args = [w.output.map(f)])`:   "w.output.map(...) can only be expanded over",
		`task(f, task_id = "t").expand(x = w.output.map(3))`: "map: got int, want a function",
		`task(f, task_id = "t").expand(x = w.output.map(w))`: "map: got task, want a function",
	} {
		src := "def f(x = 0):\n    return x\ndef build():\n    w = task(f, task_id = \"w\")\n    " + body + "\ndag(dag_id = \"e\", build = build)\n"
		g := loadSource(t, specLoader(), src)
		if len(g.Errors) != 1 || !strings.Contains(g.Errors[0].Error(), want) {
			t.Errorf("%s: errors %v, want one containing %q", body, g.Errors, want)
		}
	}
}

func TestZipConcatAndMapChains(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(), `
def f(x = 0):
    return x

def build():
    a = task(f, task_id = "a")
    b = task(f, task_id = "b")
    c = task(f, task_id = "c")
    task(f, task_id = "z").expand(x = a.output.zip(b.output, c.output))
    task(f, task_id = "zf").expand(x = a.output.zip(b.output, fillvalue = "-"))
    task(f, task_id = "cc").expand(x = a.output.concat(b.output).concat(c.output))
    task(f, task_id = "mm").expand(x = a.output.map(f).map(f))
    task(f, task_id = "zm").expand(x = a.output.map(f).zip(b.output).map(f))

dag(dag_id = "m", build = build)
`)
	if len(f.Errors) > 0 {
		t.Fatalf("errors: %v", f.Errors)
	}
	d := f.DAGs[0]
	a, b, c := dags.XComRef{TaskID: "a", Key: "return_value"}, dags.XComRef{TaskID: "b", Key: "return_value"}, dags.XComRef{TaskID: "c", Key: "return_value"}
	if got := d.Task("z").Expand[0].Value; !reflect.DeepEqual(got, dags.XComZip{Args: []any{a, b, c}}) {
		t.Errorf("zip: %#v", got)
	}
	if !reflect.DeepEqual(d.Task("z").Upstream, []string{"a", "b", "c"}) {
		t.Errorf("zip must add an edge from every zipped task: upstream %v", d.Task("z").Upstream)
	}
	if got := d.Task("zf").Expand[0].Value; !reflect.DeepEqual(got, dags.XComZip{Args: []any{a, b}, Fill: "-", HasFill: true}) {
		t.Errorf("zip with fillvalue: %#v", got)
	}
	if got := d.Task("cc").Expand[0].Value; !reflect.DeepEqual(got, dags.XComConcat{Args: []any{a, b, c}}) {
		t.Errorf("concat after concat must chain into one: %#v", got)
	}
	if got := d.Task("mm").Expand[0].Value.(dags.XComRef); len(got.MapFns) != 2 {
		t.Errorf("map after map must chain two functions: %#v", got)
	}
	zm := d.Task("zm").Expand[0].Value.(dags.XComZip)
	if len(zm.MapFns) != 1 || len(zm.Args[0].(dags.XComRef).MapFns) != 1 {
		t.Errorf("map of a zip of a map: %#v", zm)
	}
	for body, want := range map[string]string{
		`task(f, task_id = "t", args = [a.output.zip(b.output)])`:             "a.output.zip(b.output) can only be expanded over",
		`task(f, task_id = "t", kwargs = {"x": a.output.concat(b.output)})`:   "a.output.concat(b.output) can only be expanded over",
		`task(f, task_id = "t").expand(x = a.output.zip([1, 2]))`:             "zip: argument 1 is a list, want a task's output",
		`task(f, task_id = "t").expand(x = a.output.concat("b"))`:             "concat: argument 1 is a string, want a task's output",
		`task(f, task_id = "t").expand(x = a.output.zip(b.output, fill = 0))`: "zip: unexpected keyword argument fill (known: fillvalue)",
		`task(f, task_id = "t").expand(x = a.output["k"].zip(b.output))`:      "zip: cannot zip a.output[\"k\"], an XCom other than the return value",
		`task(f, task_id = "t").expand(x = a.output.zip(b.output)["k"])`:      "pick the key of a task's output before map, zip or concat",
		`task(f, task_id = "t").expand(x = [a.output.zip(b.output)])`:         "a.output.zip(b.output) inside a mapped list",
	} {
		src := "def f(x = 0):\n    return x\ndef build():\n    a = task(f, task_id = \"a\")\n    b = task(f, task_id = \"b\")\n    " + body + "\ndag(dag_id = \"e\", build = build)\n"
		g := loadSource(t, specLoader(), src)
		if len(g.Errors) != 1 || !strings.Contains(g.Errors[0].Error(), want) {
			t.Errorf("%s: errors %v, want one containing %q", body, g.Errors, want)
		} else if !strings.Contains(g.Errors[0].Error(), "dag.star:6:") {
			t.Errorf("%s: error %q lacks the line of the call (6)", body, g.Errors[0])
		}
	}
}

package loader

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// Errors that teach: a DAG file written with Python habits (import, with,
// decorators, f-strings, try, raise, is None, ...) fails to parse with a
// message about tokens ("got import, want primary expression"). teach
// recognises the construct at the error's position and says, in one line
// at the same file:line:col, what Starlark and Starflow have instead.

// airflowNames maps Airflow classes and functions to the Starflow builtin
// that does the same. Only entries whose builtin exists in the loader's
// environment are ever shown.
var airflowNames = map[string]string{
	"DAG":                      "dag",
	"BashOperator":             "bash",
	"PythonOperator":           "task",
	"ExternalPythonOperator":   "python",
	"PythonVirtualenvOperator": "python",
	"BranchPythonOperator":     "branch",
	"ShortCircuitOperator":     "short_circuit",
	"EmptyOperator":            "empty",
	"DummyOperator":            "empty",
	"LatestOnlyOperator":       "latest_only",
	"BranchDayOfWeekOperator":  "branch_day_of_week",
	"BranchDateTimeOperator":   "branch_datetime",
	"TriggerDagRunOperator":    "trigger_dag",
	"HttpOperator":             "http",
	"SimpleHttpOperator":       "http",
	"SQLExecuteQueryOperator":  "sql",
	"TaskGroup":                "group",
	"Dataset":                  "dataset",
	"Asset":                    "dataset",
	"FileSensor":               "file_sensor",
	"HttpSensor":               "http_sensor",
	"SqlSensor":                "sql_sensor",
	"ExternalTaskSensor":       "external_task_sensor",
	"ExternalTaskMarker":       "external_task_marker",
	"TimeDeltaSensor":          "time_delta_sensor",
	"DateTimeSensor":           "date_time_sensor",
	"PythonSensor":             "python_sensor",
	"BashSensor":               "bash_sensor",
	"TimeSensor":               "time_sensor",
	"DayOfWeekSensor":          "day_of_week_sensor",
	"chain":                    "chain",
	"chain_linear":             "chain_linear",
	"cross_downstream":         "cross_downstream",
	"Label":                    "Label",
	"Param":                    "Param",
	"PokeReturnValue":          "PokeReturnValue",
	"timedelta":                "timedelta",
	"datetime":                 "datetime",
}

// decorators maps Airflow decorators to the Starflow way of writing them.
var decorators = map[string]struct{ builtin, how string }{
	"task":                        {"task", "define the function, then create the task inside the DAG's build function with task(fn) (or task(fn, task_id = \"...\"))"},
	"task.python":                 {"task", "define the function, then create the task inside the DAG's build function with task(fn)"},
	"task.branch":                 {"branch", "define the function, then create the task inside the DAG's build function with task.branch(fn) (or branch(fn))"},
	"task.short_circuit":          {"short_circuit", "define the function, then create the task inside the DAG's build function with task.short_circuit(fn) (or short_circuit(fn))"},
	"task.sensor":                 {"python_sensor", "define the function, then create the task inside the DAG's build function with task.sensor(fn, poke_interval = ..., ...) (or python_sensor(task_id = \"...\", python_callable = fn))"},
	"task.bash":                   {"bash", "define the function returning the command, then create the task inside the DAG's build function with task.bash(fn, kwargs = {...})"},
	"task.external_python":        {"python", "put the function in a .py file and run it with python(task_id = \"...\", python_callable = \"file.py:fn\", python = \"/path/to/venv/bin/python\")"},
	"task.virtualenv":             {"python", "put the function in a .py file and run it in a virtualenv made for the task with python(task_id = \"...\", python_callable = \"file.py:fn\", requirements = [\"pandas\"])"},
	"task.branch_external_python": {"python", "put the function in a .py file and run it with python(task_id = \"...\", python_callable = \"file.py:fn\", python = \"/path/to/venv/bin/python\", branch = True)"},
	"task.branch_virtualenv":      {"python", "put the function in a .py file and run it in a virtualenv made for the task with python(task_id = \"...\", python_callable = \"file.py:fn\", requirements = [\"pandas\"], branch = True)"},
	"dag":                         {"dag", "define the function, then declare the DAG with dag(dag_id = \"...\", build = fn, ...)"},
	"task_group":                  {"group", "define the function, then make the group inside the DAG's build function with group(\"group_id\", fn)"},
	"setup":                       {"setup", "define the function, then create the setup task inside the DAG's build function with setup(fn)"},
	"teardown":                    {"teardown", "define the function, then create the teardown task inside the DAG's build function with teardown(fn) (teardown(fn, on_failure_fail_dagrun = True) for @teardown(on_failure_fail_dagrun=True))"},
}

var (
	fromRE      = regexp.MustCompile(`^\s*from\s+([\w.]+)\s+import\s+\(?\s*([^#)]*)`)
	importRE    = regexp.MustCompile(`^\s*import\s+([^#]*)`)
	withDAGRE   = regexp.MustCompile(`^\s*with\s+(?:models\.|airflow\.)?(?:DAG|dag)\s*\(`)
	withGroupRE = regexp.MustCompile(`^\s*with\s+(?:TaskGroup|task_group)\s*\(`)
	decoratorRE = regexp.MustCompile(`^@\s*([\w.]+)`)
)

// teacher holds what the messages may name: the names predeclared in DAG
// files.
type teacher struct {
	has func(string) bool
	// names are the predeclared identifiers, for "did you mean".
	names []string
}

func newTeacher(pre starlark.StringDict) *teacher {
	t := &teacher{has: func(n string) bool { return pre.Has(n) || starlark.Universe.Has(n) }}
	for n := range pre {
		if isIdent(n) {
			t.names = append(t.names, n)
		}
	}
	for n := range starlark.Universe {
		if !pre.Has(n) {
			t.names = append(t.names, n)
		}
	}
	sort.Strings(t.names)
	return t
}

// rewrite returns err with the messages of syntax and resolve errors
// replaced by teaching ones where a Python construct is recognised; src is
// the parsed file's content. Other errors are returned as they are.
func (t *teacher) rewrite(err error, src string) error {
	var se syntax.Error
	if errors.As(err, &se) {
		if pos, msg, ok := t.syntax(se, src); ok {
			return syntax.Error{Pos: pos, Msg: msg}
		}
		return err
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) {
		out := make(resolve.ErrorList, len(rl))
		for i, e := range rl {
			out[i] = resolve.Error{Pos: e.Pos, Msg: t.resolve(e.Msg)}
		}
		return out
	}
	return err
}

// resolve rewrites a resolver message: an undefined Airflow name says
// which builtin to use, an undefined name with no hint gets one among the
// predeclared names when one is close, and a while loop says how to loop.
func (t *teacher) resolve(msg string) string {
	if strings.Contains(msg, "does not support while loops") {
		return "DAG files have no while loops (every file must finish): loop with for x in range(n) and break"
	}
	name, ok := strings.CutPrefix(msg, "undefined: ")
	if !ok || strings.Contains(name, " ") {
		return msg
	}
	if b := t.airflow(name); b != "" && b != name {
		return fmt.Sprintf("undefined: %s (Airflow's %s is the predeclared builtin %s; nothing to import)", name, name, b)
	}
	if n := nearestName(name, t.names); n != "" {
		return fmt.Sprintf("%s (did you mean %s?)", msg, n)
	}
	return msg
}

// airflow returns the builtin that stands for an Airflow name, if it
// exists (for PythonOperator, task and, when it exists, python).
func (t *teacher) airflow(name string) string {
	b, ok := airflowNames[name]
	if !ok || !t.has(b) {
		return ""
	}
	if b == "task" && t.has("python") {
		return "task (a Starlark function; python runs a function of a .py file)"
	}
	return b
}

// syntax recognises the Python construct behind a parse error.
func (t *teacher) syntax(se syntax.Error, src string) (syntax.Position, string, bool) {
	line := []rune(sourceLine(src, int(se.Pos.Line)))
	col := int(se.Pos.Col) - 1 // index into line
	if col < 0 || col > len(line) {
		return se.Pos, "", false
	}
	file := se.Pos.Filename()
	at := func(c int) syntax.Position { return syntax.MakePosition(&file, se.Pos.Line, int32(c+1)) }
	text := string(line)

	if strings.HasPrefix(se.Msg, "unexpected input character '@'") {
		return se.Pos, t.decorator(string(line[col:])), true
	}
	got, ok := strings.CutPrefix(se.Msg, "got ")
	if !ok {
		return se.Pos, "", false
	}
	tok, _, _ := strings.Cut(got, ",")
	// The parser places the error at the start or at the end of the
	// unexpected token; point at its start.
	kw := at(tokenStart(line, col, tok))
	switch tok {
	case "import":
		return kw, t.importMsg(text), true
	case "from":
		return kw, t.fromMsg(text), true
	case "with":
		switch {
		case withDAGRE.MatchString(text):
			return kw, `Starlark has no "with": declare the DAG with dag(dag_id = "...", build = fn, schedule = ...) where fn creates the tasks`, true
		case withGroupRE.MatchString(text):
			return kw, `Starlark has no "with": make a task group with group("group_id", fn) inside the DAG's build function, where fn creates the group's tasks`, true
		}
		if t.has("within") {
			return kw, `Starlark has no "with" statement or context managers: call the functions directly; for a setup or teardown task's scope (with teardown_task:), write within(teardown_task, fn) where fn creates the tasks inside`, true
		}
		return kw, `Starlark has no "with" statement or context managers: call the functions directly`, true
	case "class":
		return kw, "Starlark has no classes: use functions and dicts; for a custom operator write a task function and run it with task(fn)" + t.pick(", or run Python code from a .py file with python(...)", "python", ""), true
	case "try", "except", "finally":
		return kw, `Starlark has no try/except: check values before using them (if key in d: ...) and let the task fail; retries = n retries a failed task`, true
	case "raise":
		return kw, `Starlark has no raise: call fail("message") to stop with an error`, true
	case "is":
		if rest := strings.TrimLeft(string(line[min(int(kw.Col)+1, len(line)):]), " \t"); strings.HasPrefix(rest, "not ") {
			return kw, `Starlark has no "is not": compare with != (x != None)`, true
		}
		return kw, `Starlark has no "is": compare with == (x == None)`, true
	case "global", "nonlocal":
		return kw, fmt.Sprintf("Starlark has no %q: a function cannot rebind a variable outside it; return the new value instead", tok), true
	case "yield":
		return kw, "Starlark has no generators (yield): build a list and return it", true
	case "async", "await":
		return kw, "Starlark has no async/await: write a plain def; Starflow runs independent tasks concurrently", true
	case "del":
		return kw, "Starlark has no del: use d.pop(key) for a dict entry, and l.pop(i) or l.remove(x) for a list element", true
	case "string literal":
		// f"...": the scanner reads f as an identifier, then a string
		// that ends at the error.
		if i := fstringStart(line, col); i >= 0 {
			return at(i), `Starlark has no f-strings: use "{}".format(x) or "%s" % x`, true
		}
	case "identifier":
		if i := firstWord(line); i >= 0 && i < col && strings.HasPrefix(string(line[i:]), "assert ") {
			return at(i), `Starlark has no assert: write if not condition: fail("message")`, true
		}
	case "':'":
		if i := strings.Index(string(line[max(col-1, 0):]), ":="); i >= 0 && i <= 1 {
			return at(max(col-1, 0) + i), "Starlark has no := (assignment expression): assign the value on a line of its own first", true
		}
	}
	return se.Pos, "", false
}

// importMsg teaches for an "import x" line.
func (t *teacher) importMsg(line string) string {
	m := importRE.FindStringSubmatch(line)
	if m != nil {
		var pre []string
		for _, part := range strings.Split(m[1], ",") {
			mod, _, _ := strings.Cut(strings.TrimSpace(part), " ")
			if mod != "" && !strings.Contains(mod, ".") && t.has(mod) {
				pre = append(pre, mod)
			}
		}
		if len(pre) > 0 {
			return fmt.Sprintf("Starlark has no import: %s %s predeclared, use %s without importing", strings.Join(pre, ", "), isAre(len(pre)), itThem(len(pre)))
		}
	}
	return "Starlark has no import: " + t.builtinsHint() + `; load your own .star modules with load("//lib/file.star", "name")`
}

// fromMsg teaches for a "from x import y" line.
func (t *teacher) fromMsg(line string) string {
	m := fromRE.FindStringSubmatch(line)
	if m == nil {
		return "Starlark has no import: " + t.builtinsHint() + `; load your own .star modules with load("//lib/file.star", "name")`
	}
	module := m[1]
	var names []string
	for _, part := range strings.Split(m[2], ",") {
		n, _, _ := strings.Cut(strings.TrimSpace(part), " ")
		if isIdent(n) {
			names = append(names, n)
		}
	}
	var said, pre []string
	for _, n := range names {
		if b := t.airflow(n); b != "" && b != n {
			said = append(said, fmt.Sprintf("Airflow's %s is the builtin %s", n, b))
		} else if t.has(n) {
			pre = append(pre, n)
		}
	}
	if len(pre) > 0 {
		said = append(said, fmt.Sprintf("%s %s predeclared", strings.Join(pre, ", "), isAre(len(pre))))
	}
	if len(said) > 0 {
		return "Starlark has no import: " + strings.Join(said, "; ") + " (nothing to import)"
	}
	if module == "airflow" || strings.HasPrefix(module, "airflow.") {
		return "Starlark has no import: " + t.builtinsHint()
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf(`Starlark has no import: for a .star module of the DAG folder write load("//%s.star", %s)%s`,
		strings.ReplaceAll(module, ".", "/"), strings.Join(quoted, ", "), t.pick("; code that needs Python libraries goes in a .py file run with python(...)", "python", ""))
}

// builtinsHint names a few of the builtins that stand for Airflow's operators.
func (t *teacher) builtinsHint() string {
	var have []string
	for _, n := range []string{"dag", "bash", "python", "task", "empty", "http", "sql", "branch"} {
		if t.has(n) {
			have = append(have, n)
		}
	}
	return "Airflow's operators are predeclared builtins (" + strings.Join(have, ", ") + ", ...)"
}

// decorator teaches for a line starting with "@".
func (t *teacher) decorator(rest string) string {
	name := ""
	if m := decoratorRE.FindStringSubmatch(rest); m != nil {
		name = m[1]
	}
	if d, ok := decorators[name]; ok && t.has(d.builtin) {
		return "Starlark has no decorators: " + d.how
	}
	return "Starlark has no decorators: define the function, then pass it to a builtin inside the DAG's build function, e.g. task(fn)"
}

// pick returns what when the builtin exists, otherwise instead.
func (t *teacher) pick(what, builtin, instead string) string {
	if t.has(builtin) {
		return what
	}
	return instead
}

// tokenStart returns the index in line of the token word that starts or
// ends at col, or col.
func tokenStart(line []rune, col int, word string) int {
	w := []rune(word)
	if col+len(w) <= len(line) && string(line[col:col+len(w)]) == word {
		return col
	}
	if col-len(w) >= 0 && string(line[col-len(w):col]) == word {
		return col - len(w)
	}
	return col
}

// fstringRE matches the prefix of an f-string.
var fstringRE = regexp.MustCompile(`(?i)(?:^|[^\w])((?:rf|fr|f)["'])`)

// fstringStart returns the index of the last f-string prefix in line
// before col, or -1.
func fstringStart(line []rune, col int) int {
	s := string(line[:col])
	ms := fstringRE.FindAllStringSubmatchIndex(s, -1)
	if len(ms) == 0 {
		return -1
	}
	return len([]rune(s[:ms[len(ms)-1][2]]))
}

// sourceLine returns line n (1-based) of src, without its line break.
func sourceLine(src string, n int) string {
	for i := 1; i < n; i++ {
		j := strings.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	line, _, _ := strings.Cut(src, "\n")
	return strings.TrimSuffix(line, "\r")
}

// firstWord returns the index of the first non-blank rune of line, or -1.
func firstWord(line []rune) int {
	for i, r := range line {
		if r != ' ' && r != '\t' {
			return i
		}
	}
	return -1
}

func isIdentRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !isIdentRune(r) {
			return false
		}
	}
	return true
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// nearestName returns the element of candidates closest to x when it is
// close enough to be a typo, or "": the measure of the Starlark resolver's
// own "did you mean" (case and underscores ignored, at most half the
// letters wrong).
func nearestName(x string, candidates []string) string {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	fx := fold(x)
	best, bestD := "", (len(fx)+1)/2
	for _, c := range candidates {
		if d := dags.EditDistance(fx, fold(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

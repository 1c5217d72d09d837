package python

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/subprocess"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Kind is the operator kind of python tasks.
const Kind = "python"

// DefaultInterpreter is the interpreter of tasks that name none, looked
// up in PATH.
const DefaultInterpreter = "python3"

// runnerScript calls the task's function in the interpreter; see its
// docstring for the protocol.
//
//go:embed runner.py
var runnerScript []byte

// pyLib is Starflow's Python library for task code (the starflow module
// and the airflow package), written beside the DAG's files for each try.
//
//go:embed all:pyshim
var pyLib embed.FS

// Operator runs python tasks. The zero value is ready to use.
type Operator struct {
	// KillGrace is the time between SIGTERM and SIGKILL when a try is
	// cancelled; zero means subprocess.DefaultGrace.
	KillGrace time.Duration
	// Env decides which of the worker's variables interpreters inherit.
	Env subprocess.Policy
}

var (
	_ operators.Operator  = (*Operator)(nil)
	_ operators.Specified = (*Operator)(nil)
)

// New returns a python operator with the environment policy of the
// worker's STARFLOW_TASK_ENV_ALLOW.
func New() *Operator { return &Operator{Env: subprocess.PolicyFromEnv()} }

// Register adds a new python operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// Spec describes the arguments of python tasks.
func (*Operator) Spec() operators.Spec {
	return operators.Spec{
		Kind:       Kind,
		Doc:        "Calls a function of a .py file of the DAG folder in a Python interpreter subprocess; its JSON return value is the XCom.",
		Positional: 1,
		Files:      readFiles,
		Params: []operators.Param{
			{Name: "python_callable", Type: operators.ParamString, Required: true,
				Doc: `"file.py:function": a .py file, by its path from the DAG folder root, and the function to call`},
			{Name: "op_args", Type: operators.ParamList, Templated: true, XCom: true,
				Doc: "positional arguments of the function; strings are templates, t.output pulls an XCom"},
			{Name: "op_kwargs", Type: operators.ParamDict, Templated: true, XCom: true,
				Doc: "keyword arguments of the function; strings are templates, t.output pulls an XCom"},
			{Name: "templates_dict", Type: operators.ParamDict, Templated: true,
				Doc: "rendered and passed in the context as templates_dict"},
			{Name: "python", Type: operators.ParamString, Templated: true,
				Doc: "the interpreter: a path such as /opt/venv/bin/python, or a name looked up in PATH (default python3)"},
			{Name: "env", Type: operators.ParamDict, Templated: true,
				Doc: "environment variables of the interpreter; they replace the inherited ones unless append_env"},
			{Name: "append_env", Type: operators.ParamBool, Default: false,
				Doc: "add env to the inherited (scrubbed) environment instead of replacing it"},
			{Name: "skip_on_exit_code", Type: operators.ParamAny,
				Doc: "an exit code (or a list) of the interpreter, through sys.exit, that skips the task"},
			{Name: "show_return_value_in_logs", Type: operators.ParamBool, Default: true,
				Doc: "print the return value in the task log"},
			{Name: "requirements", Type: operators.ParamList, Templated: true,
				Doc: "pip requirements: the function runs in a new virtualenv (python -m venv from the interpreter) where they are installed, as PythonVirtualenvOperator; [] makes a bare virtualenv"},
			{Name: "system_site_packages", Type: operators.ParamBool, Default: true,
				Doc: "the virtualenv sees the interpreter's site-packages (with requirements)"},
			{Name: "pip_install_options", Type: operators.ParamList, Templated: true,
				Doc: "options of pip install, such as [\"--no-index\", \"--find-links=/wheels\"] (with requirements)"},
			{Name: "venv_cache_path", Type: operators.ParamString, Templated: true,
				Doc: "a folder that keeps the virtualenv for later tries with the same requirements (with requirements); default none: made for each try"},
			{Name: "branch", Type: operators.ParamBool, Default: false,
				Doc: "the function returns the task id (or list, or None) to follow and the other direct downstream tasks are skipped, as BranchExternalPythonOperator"},
		},
	}
}

// request is what the runner script reads.
type request struct {
	Root            string         `json:"root"`
	Lib             string         `json:"lib"`
	Module          string         `json:"module"`
	Function        string         `json:"function"`
	Args            []any          `json:"args"`
	Kwargs          map[string]any `json:"kwargs"`
	Context         map[string]any `json:"context"`
	ShowReturnValue bool           `json:"show_return_value"`
	// Channel holds the interpreter's file descriptors of the channel
	// to the worker: requests, responses.
	Channel []int `json:"channel"`
}

// result is what the runner script writes.
type result struct {
	ReturnValue any     `json:"return_value"`
	Skip        *string `json:"skip"`
	Error       *string `json:"error"`
	Fail        bool    `json:"fail"`
}

// Execute runs one try of a python task.
func (o *Operator) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	if c.Task == nil {
		return nil, operators.Fail(errors.New("python: the call has no task"))
	}
	spec := o.Spec()
	args, err := spec.Args(c.Task.Config)
	if err != nil {
		return nil, err
	}
	fn, err := ParseCallable(args.String("python_callable"))
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("python: %w", err))
	}
	skipCodes, err := exitCodes(args.Value("skip_on_exit_code"))
	if err != nil {
		return nil, operators.Fail(err)
	}
	if err := args.Render(ctx, c); err != nil {
		return nil, err
	}
	if err := args.Resolve(ctx, c); err != nil {
		return nil, err
	}
	taskEnv, err := envList(args)
	if err != nil {
		return nil, operators.Fail(err)
	}
	interp := strings.TrimSpace(args.String("python"))
	if interp == "" {
		interp = DefaultInterpreter
	}
	interpPath, err := exec.LookPath(interp)
	if err != nil {
		return nil, fmt.Errorf("python: interpreter %q not found: %w", interp, err)
	}

	dir, err := os.MkdirTemp("", "starflow-python-")
	if err != nil {
		return nil, fmt.Errorf("python: create the working folder: %w", err)
	}
	defer os.RemoveAll(dir)
	env := o.Env.Env(taskEnv, args.Bool("append_env"), subprocess.ContextEnv(c)...)
	if args.Has("requirements") {
		spec := venvSpec{Base: interpPath, SystemSite: args.Bool("system_site_packages"), Cache: strings.TrimSpace(args.String("venv_cache_path"))}
		if spec.Requirements, err = stringItems("requirements", args.List("requirements")); err != nil {
			return nil, operators.Fail(err)
		}
		if spec.PipOptions, err = stringItems("pip_install_options", args.List("pip_install_options")); err != nil {
			return nil, operators.Fail(err)
		}
		if interpPath, err = o.virtualenv(ctx, c, spec, dir, env); err != nil {
			return nil, err
		}
	}
	root, work, lib := filepath.Join(dir, "dags"), filepath.Join(dir, "work"), filepath.Join(dir, "lib")
	if err := materialise(ctx, c, root, fn); err != nil {
		return nil, err
	}
	if err := writeLib(lib); err != nil {
		return nil, err
	}
	if err := os.Mkdir(work, 0o700); err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	runner := filepath.Join(dir, "starflow_runner.py")
	reqPath, resPath := filepath.Join(dir, "request.json"), filepath.Join(dir, "result.json")
	req := request{
		Root: root, Lib: lib, Module: fn.Module(), Function: fn.Function,
		Args: args.List("op_args"), Kwargs: args.Dict("op_kwargs"),
		Context: contextOf(c, args.Dict("templates_dict")), ShowReturnValue: args.Bool("show_return_value_in_logs"),
		Channel: []int{3, 4}, // ExtraFiles[0] and [1]
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("python: the arguments cannot be passed as JSON: %w", err))
	}
	if err := os.WriteFile(reqPath, data, 0o600); err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	if err := os.WriteFile(runner, runnerScript, 0o600); err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}

	ch, err := openChannel()
	if err != nil {
		return nil, err
	}
	go ch.serve(ctx, c)
	c.Logf("Running %s:%s with %s", fn.File, fn.Function, interpPath)
	res, err := subprocess.Run(ctx, subprocess.Command{
		Name: "python", Path: interpPath, Args: []string{"-u", "-B", runner, reqPath, resPath},
		Dir: work, Env: env,
		Log: c.Log, Grace: o.KillGrace, ExtraFiles: ch.childFiles,
	})
	ch.close()
	if err != nil {
		return nil, err
	}
	out, readErr := readResult(resPath)
	switch {
	case res.ExitCode != 0 && slices.Contains(skipCodes, res.ExitCode):
		return operators.Skipped(fmt.Sprintf("the interpreter exited with code %d, which is in skip_on_exit_code", res.ExitCode)), nil
	case readErr != nil && res.ExitCode != 0:
		return nil, fmt.Errorf("python: the interpreter exited with code %d before %s returned (see the log)", res.ExitCode, fn.Function)
	case readErr != nil:
		return nil, fmt.Errorf("python: %s: %w", fn.Function, readErr)
	case out.Skip != nil:
		return operators.Skipped(*out.Skip), nil
	case out.Error != nil:
		err := fmt.Errorf("python: %s:%s raised %s (traceback in the log)", fn.File, fn.Function, *out.Error)
		if out.Fail {
			return nil, operators.Fail(err)
		}
		return nil, err
	case res.ExitCode != 0:
		return nil, fmt.Errorf("python: the interpreter exited with code %d", res.ExitCode)
	}
	success := operators.Success(out.ReturnValue)
	if args.Bool("branch") {
		chosen, skip, err := branchSkips(c, out.ReturnValue)
		if err != nil {
			return nil, operators.Fail(err)
		}
		success.Skip = skip
		success.Message = fmt.Sprintf("following %v; skipping %v", chosen, skip)
	}
	return success, nil
}

// materialise writes the .py files of the call's DAG version under root.
func materialise(ctx context.Context, c *operators.Call, root string, fn Callable) error {
	sf, ok := c.Functions.(operators.SourceFiles)
	if !ok {
		return operators.Fail(errors.New("python: this runner gives no access to the DAG's source files"))
	}
	files, err := sf.SourceFiles(ctx, c)
	if err != nil {
		return fmt.Errorf("python: the DAG's source files: %w", err)
	}
	if _, ok := files[fn.File]; !ok {
		return operators.Fail(fmt.Errorf("python: %s is not part of this DAG version (python_callable must be a constant, so that the file is read with the DAG file)", fn.File))
	}
	for p, content := range files {
		if !strings.HasSuffix(p, ".py") {
			continue
		}
		clean := path.Clean(p)
		if !fs.ValidPath(clean) || clean != p {
			return operators.Fail(fmt.Errorf("python: source path %q is not inside the DAG folder", p))
		}
		dst := filepath.Join(root, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fmt.Errorf("python: %w", err)
		}
		if err := os.WriteFile(dst, []byte(content), 0o600); err != nil {
			return fmt.Errorf("python: %w", err)
		}
	}
	return nil
}

// writeLib writes Starflow's Python library under dir.
func writeLib(dir string) error {
	sub, err := fs.Sub(pyLib, "pyshim")
	if err != nil {
		return fmt.Errorf("python: %w", err)
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return fmt.Errorf("python: write the starflow library: %w", err)
	}
	return nil
}

// readResult reads the runner's result file, keeping JSON integers as
// int64.
func readResult(p string) (*result, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("no result: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("unreadable result: %w", err)
	}
	out := &result{}
	if v, ok := raw["return_value"]; ok {
		out.ReturnValue = store.PlainNumbers(v)
	}
	if s, ok := raw["skip"].(string); ok {
		out.Skip = &s
	}
	if s, ok := raw["error"].(string); ok {
		out.Error = &s
	}
	out.Fail, _ = raw["fail"].(bool)
	return out, nil
}

// contextOf returns the Airflow template context the function may take,
// in JSON form; the runner turns the dates into datetimes and adds ti,
// dag_run, dag and task objects.
func contextOf(c *operators.Call, templatesDict map[string]any) map[string]any {
	dagID, taskID := c.Run.DAGID, ""
	if dagID == "" && c.DAG != nil {
		dagID = c.DAG.ID
	}
	if c.Task != nil {
		taskID = c.Task.ID
	}
	conf := c.Run.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	params := c.Params
	if params == nil {
		params = map[string]any{}
	}
	ctx := map[string]any{
		"dag_id": dagID, "task_id": taskID, "run_id": c.Run.RunID, "run_type": string(c.Run.RunType),
		"try_number": c.TryNumber, "map_index": c.MapIndex, "params": params, "conf": conf,
		"templates_dict": templatesDict,
	}
	if ld := c.Run.LogicalDate; !ld.IsZero() {
		ld = ld.UTC()
		ts := isoformat(ld)
		ctx["logical_date"] = ts
		ctx["ds"] = ld.Format("2006-01-02")
		ctx["ds_nodash"] = ld.Format("20060102")
		ctx["ts"] = ts
		ctx["ts_nodash"] = ld.Format("20060102T150405")
		ctx["ts_nodash_with_tz"] = strings.NewReplacer("-", "", ":", "").Replace(ts)
		ctx["task_instance_key_str"] = dagID + "__" + taskID + "__" + ld.Format("20060102")
	} else {
		ctx["task_instance_key_str"] = dagID + "__" + taskID + "__" + c.Run.RunID
	}
	if t := c.Run.DataIntervalStart; !t.IsZero() {
		ctx["data_interval_start"] = isoformat(t.UTC())
	}
	if t := c.Run.DataIntervalEnd; !t.IsZero() {
		ctx["data_interval_end"] = isoformat(t.UTC())
	}
	return ctx
}

// isoformat formats t as Python's datetime.isoformat() does.
func isoformat(t time.Time) string {
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}

// envList reads the env argument as NAME=value entries; nil when absent.
func envList(args *operators.Args) ([]string, error) {
	if !args.Has("env") {
		return nil, nil
	}
	m := args.Dict("env")
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, ok := m[k].(string)
		if !ok {
			return nil, fmt.Errorf("python: env[%q] must be a string, got %T", k, m[k])
		}
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("python: env has an invalid variable name %q", k)
		}
		out = append(out, k+"="+s)
	}
	return out, nil
}

// exitCodes reads skip_on_exit_code: None, an int or a list of ints.
func exitCodes(v any) ([]int, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return []int{int(x)}, nil
	case int:
		return []int{x}, nil
	case []any:
		out := make([]int, 0, len(x))
		for _, e := range x {
			n, ok := e.(int64)
			if !ok {
				return nil, fmt.Errorf("python: skip_on_exit_code must hold ints, got %T", e)
			}
			out = append(out, int(n))
		}
		return out, nil
	}
	return nil, fmt.Errorf("python: skip_on_exit_code must be an int or a list of ints, got %T", v)
}

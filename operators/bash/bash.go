package bash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Kind is the operator kind of bash tasks.
const Kind = dags.OperatorBash

// DefaultKillGrace is how long a cancelled command's processes get between
// SIGTERM and SIGKILL.
const DefaultKillGrace = 5 * time.Second

// DefaultSkipExitCode is the exit code that skips the task when the task
// does not set skip_on_exit_code, as in Airflow.
const DefaultSkipExitCode = 99

// Operator runs bash commands. The zero value is ready to use; New fills
// in the defaults explicitly.
type Operator struct {
	// Bash is the path of the bash executable; empty means "bash" looked
	// up in PATH at each run.
	Bash string
	// KillGrace is the time between SIGTERM and SIGKILL when the command
	// is cancelled; zero means DefaultKillGrace.
	KillGrace time.Duration
}

var _ operators.Operator = (*Operator)(nil)

// New returns a bash operator with bash looked up once in PATH and the
// default kill grace.
func New() *Operator {
	path, err := exec.LookPath("bash")
	if err != nil {
		path = "" // looked up again (and reported) at run time
	}
	return &Operator{Bash: path, KillGrace: DefaultKillGrace}
}

// Register adds a new bash operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// config is a bash task's configuration, read from Task.Config and
// rendered.
type config struct {
	command   string
	env       []string // nil: inherit (or append to) the worker's environment
	appendEnv bool
	cwd       string // "": a fresh temporary directory
	skipCodes []int
}

// Execute runs one try of a bash task.
func (o *Operator) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	cfg, err := readConfig(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bash command not started: %w", err)
	}
	dir := cfg.cwd
	if dir == "" {
		tmp, err := os.MkdirTemp("", "starflow-bash-")
		if err != nil {
			return nil, fmt.Errorf("bash: create the working directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("bash: cwd %q: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("bash: cwd %q is not a directory", dir)
	}
	bash := o.Bash
	if bash == "" {
		if bash, err = exec.LookPath("bash"); err != nil {
			return nil, fmt.Errorf("bash: %w", err)
		}
	}
	env := cfg.env
	if env == nil || cfg.appendEnv {
		env = append(os.Environ(), env...)
	}
	env = append(env, contextEnv(c)...)

	grace := o.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	p := &process{log: c.Log, grace: grace}
	c.Logf("Running command: %s", cfg.command)
	code, err := p.run(ctx, bash, cfg.command, dir, env)
	if err != nil {
		return nil, err
	}
	c.Logf("Command exited with return code %d", code)
	// As Airflow's BashOperator, skip_on_exit_code is checked first, so
	// skip_on_exit_code = 0 skips a command that succeeded.
	switch {
	case slices.Contains(cfg.skipCodes, code):
		return operators.Skipped(fmt.Sprintf("bash command exited with code %d, which is in skip_on_exit_code", code)), nil
	case code == 0:
		if p.lastLong {
			return nil, fmt.Errorf("bash: the last line of stdout, pushed as the XCom, is longer than %d bytes (the XCom limit); write big data to a file or database and print its path, or end the output with a short line", maxLine)
		}
		if p.lastLine == "" {
			return operators.Success(nil), nil
		}
		return operators.Success(p.lastLine), nil
	default:
		return nil, fmt.Errorf("bash command exited with code %d", code)
	}
}

// contextEnv returns the variables that tell the command which task
// instance it runs for, under Starflow's and Airflow's names.
func contextEnv(c *operators.Call) []string {
	dagID, taskID := c.Run.DAGID, ""
	if dagID == "" && c.DAG != nil {
		dagID = c.DAG.ID
	}
	if c.Task != nil {
		taskID = c.Task.ID
	}
	logical := ""
	if !c.Run.LogicalDate.IsZero() {
		logical = isoformat(c.Run.LogicalDate.UTC())
	}
	try := strconv.Itoa(c.TryNumber)
	return []string{
		"STARFLOW_CTX_DAG_ID=" + dagID,
		"STARFLOW_CTX_TASK_ID=" + taskID,
		"STARFLOW_CTX_RUN_ID=" + c.Run.RunID,
		"STARFLOW_CTX_TRY_NUMBER=" + try,
		"STARFLOW_CTX_LOGICAL_DATE=" + logical,
		"AIRFLOW_CTX_DAG_ID=" + dagID,
		"AIRFLOW_CTX_TASK_ID=" + taskID,
		"AIRFLOW_CTX_DAG_RUN_ID=" + c.Run.RunID,
		"AIRFLOW_CTX_TRY_NUMBER=" + try,
		"AIRFLOW_CTX_LOGICAL_DATE=" + logical,
	}
}

// isoformat formats t as Python's datetime.isoformat() does.
func isoformat(t time.Time) string {
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}

// readConfig reads and renders the task's configuration. A value of the
// wrong type is a final failure: retrying cannot fix it.
func readConfig(ctx context.Context, c *operators.Call) (*config, error) {
	if c.Task == nil {
		return nil, operators.Fail(errors.New("bash: the call has no task"))
	}
	conf := c.Task.Config
	cfg := &config{skipCodes: []int{DefaultSkipExitCode}}

	cmd, ok := conf["bash_command"].(string)
	if !ok || strings.TrimSpace(cmd) == "" {
		return nil, operators.Fail(fmt.Errorf("bash: bash_command must be a non-empty string, got %s", describe(conf["bash_command"])))
	}
	rendered, err := c.RenderArg(ctx, "bash_command", cmd)
	if err != nil {
		return nil, fmt.Errorf("bash: bash_command: %w", err)
	}
	cfg.command = rendered

	switch env := conf["env"].(type) {
	case nil:
	case map[string]any:
		cfg.env = make([]string, 0, len(env))
		for _, k := range sortedKeys(env) {
			s, ok := env[k].(string)
			if !ok {
				return nil, operators.Fail(fmt.Errorf("bash: env[%q] must be a string, got %s", k, describe(env[k])))
			}
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return nil, operators.Fail(fmt.Errorf("bash: env has an invalid variable name %q", k))
			}
			v, err := c.RenderArg(ctx, "env", s)
			if err != nil {
				return nil, fmt.Errorf("bash: env[%q]: %w", k, err)
			}
			cfg.env = append(cfg.env, k+"="+v)
		}
	default:
		return nil, operators.Fail(fmt.Errorf("bash: env must be a dict of strings, got %s", describe(env)))
	}

	switch v := conf["append_env"].(type) {
	case nil:
	case bool:
		cfg.appendEnv = v
	default:
		return nil, operators.Fail(fmt.Errorf("bash: append_env must be a bool, got %s", describe(v)))
	}

	switch v := conf["cwd"].(type) {
	case nil:
	case string:
		if cfg.cwd, err = c.RenderArg(ctx, "cwd", v); err != nil {
			return nil, fmt.Errorf("bash: cwd: %w", err)
		}
	default:
		return nil, operators.Fail(fmt.Errorf("bash: cwd must be a string, got %s", describe(v)))
	}

	if v, ok := conf["skip_on_exit_code"]; ok {
		codes, err := exitCodes(v)
		if err != nil {
			return nil, operators.Fail(err)
		}
		cfg.skipCodes = codes
	}
	return cfg, nil
}

// exitCodes reads skip_on_exit_code: an int, a list of ints, or None for
// no skipping.
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
			switch n := e.(type) {
			case int64:
				out = append(out, int(n))
			case int:
				out = append(out, n)
			default:
				return nil, fmt.Errorf("bash: skip_on_exit_code must hold ints, got %s", describe(e))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bash: skip_on_exit_code must be an int or a list of ints, got %s", describe(v))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// describe names a config value and its type for an error message.
func describe(v any) string {
	if v == nil {
		return "None"
	}
	return fmt.Sprintf("%T %v", v, v)
}

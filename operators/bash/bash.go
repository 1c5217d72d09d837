package bash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/function"
	"github.com/starflow-dev/starflow/operators/subprocess"
)

// Kind is the operator kind of bash tasks.
const Kind = dags.OperatorBash

// DefaultKillGrace is how long a cancelled command's processes get between
// SIGTERM and SIGKILL.
const DefaultKillGrace = subprocess.DefaultGrace

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
	// Env decides which of the worker's variables commands inherit; the
	// zero Policy passes subprocess.SafeEnv only.
	Env subprocess.Policy
}

var _ operators.Operator = (*Operator)(nil)

// New returns a bash operator with bash looked up once in PATH, the
// default kill grace, and the environment policy of the worker's
// STARFLOW_TASK_ENV_ALLOW.
func New() *Operator {
	path, err := exec.LookPath("bash")
	if err != nil {
		path = "" // looked up again (and reported) at run time
	}
	return &Operator{Bash: path, KillGrace: DefaultKillGrace, Env: subprocess.PolicyFromEnv()}
}

// Register adds a new bash operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// config is a bash task's configuration, read from Task.Config and
// rendered.
type config struct {
	command   string
	env       []string // nil: inherit (or append to) the worker's scrubbed environment
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
	env := o.Env.Env(cfg.env, cfg.appendEnv, subprocess.ContextEnv(c)...)

	c.Logf("Running command: %s", cfg.command)
	res, err := subprocess.Run(ctx, subprocess.Command{
		Name: "bash command", Path: bash, Args: []string{"-c", cfg.command},
		Dir: dir, Env: env, Log: c.Log, Grace: o.KillGrace,
	})
	if err != nil {
		return nil, err
	}
	code := res.ExitCode
	c.Logf("Command exited with return code %d", code)
	// As Airflow's BashOperator, skip_on_exit_code is checked first, so
	// skip_on_exit_code = 0 skips a command that succeeded.
	switch {
	case slices.Contains(cfg.skipCodes, code):
		return operators.Skipped(fmt.Sprintf("bash command exited with code %d, which is in skip_on_exit_code", code)), nil
	case code == 0:
		if res.LastLineLong {
			return nil, fmt.Errorf("bash: the last line of stdout, pushed as the XCom, is longer than %d bytes (the XCom limit); write big data to a file or database and print its path, or end the output with a short line", subprocess.MaxLine)
		}
		if res.LastLine == "" {
			return operators.Success(nil), nil
		}
		return operators.Success(res.LastLine), nil
	default:
		return nil, fmt.Errorf("bash command exited with code %d", code)
	}
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
	if _, given := conf["bash_command"]; !given && c.Task.Function != "" {
		// task.bash, Airflow's @task.bash: the function returns the
		// command, which is then rendered as a template.
		v, err := function.Call(ctx, c)
		if err != nil {
			return nil, err
		}
		if cmd, ok = v.(string); !ok || strings.TrimSpace(cmd) == "" {
			return nil, operators.Fail(fmt.Errorf("bash: the task function must return the command, a non-empty string; it returned %s", describe(v)))
		}
	} else if !ok || strings.TrimSpace(cmd) == "" {
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
		cfg.env, err = subprocess.TaskVars("bash", env, func(_, v string) (string, error) { return c.RenderArg(ctx, "env", v) })
		if err != nil {
			return nil, err
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

// describe names a config value and its type for an error message.
func describe(v any) string {
	if v == nil {
		return "None"
	}
	return fmt.Sprintf("%T %v", v, v)
}

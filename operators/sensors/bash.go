package sensors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/subprocess"
)

// BashKind is the operator kind of bash sensors.
const BashKind = "bash_sensor"

// BashSensor runs a bash command at every poke, as Airflow's BashSensor:
// exit code 0 means done. Without retry_exit_code any other code means
// "not yet"; with it, that code means "not yet" and any other non-zero
// code fails the task without retrying (soft_fail makes it skipped).
// Commands run as the bash operator's do: in a fresh temporary directory,
// in their own process group that dies with the try, in the worker's
// scrubbed environment (or env alone when the task sets it) plus the
// task's context variables.
type BashSensor struct {
	Base
	// Bash is the path of bash; empty means "bash" looked up in PATH.
	Bash string
	// Env decides which of the worker's variables commands inherit.
	Env subprocess.Policy
	// KillGrace is the time between SIGTERM and SIGKILL when a try is
	// cancelled; zero means subprocess.DefaultGrace.
	KillGrace time.Duration
}

var (
	_ operators.Operator  = (*BashSensor)(nil)
	_ operators.Specified = (*BashSensor)(nil)
)

// Spec describes the arguments of bash sensors.
func (*BashSensor) Spec() operators.Spec {
	return newSpec(BashKind, "Runs a bash command at every poke until it exits with code 0.", 1,
		operators.Param{Name: "bash_command", Type: operators.ParamString, Required: true, Templated: true,
			Doc: "the command; exit code 0 means done; a template"},
		operators.Param{Name: "env", Type: operators.ParamDict, Templated: true,
			Doc: "when set, the command's whole environment (besides the context variables) instead of the worker's scrubbed one; values are templates"},
		operators.Param{Name: "retry_exit_code", Type: operators.ParamInt,
			Doc: "the exit code that means \"not yet\"; any other non-zero code then fails the task without retrying. Unset: every non-zero code means \"not yet\""},
		operators.Param{Name: "output_encoding", Type: operators.ParamString, Default: "utf-8", Choices: []string{"utf-8", "utf8", "UTF-8"},
			Doc: "the encoding of the command's output; only UTF-8 is supported"})
}

// Execute pokes the command.
func (s *BashSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	command := a.String("bash_command")
	if strings.TrimSpace(command) == "" {
		return nil, operators.Fail(errors.New("bash_sensor: bash_command is empty"))
	}
	var taskEnv []string
	if a.Has("env") {
		if taskEnv, err = subprocess.TaskVars("bash_sensor", a.Dict("env"), nil); err != nil {
			return nil, err
		}
	}
	bash := s.Bash
	if bash == "" {
		if bash, err = exec.LookPath("bash"); err != nil {
			return nil, fmt.Errorf("bash_sensor: %w", err)
		}
	}
	env := s.Env.Env(taskEnv, false, subprocess.ContextEnv(c)...)
	retry, hasRetry := a.Int("retry_exit_code"), a.Has("retry_exit_code")
	return s.Run(ctx, c, a, func(ctx context.Context) (bool, error) {
		dir, err := os.MkdirTemp("", "starflow-bash-sensor-")
		if err != nil {
			return false, fmt.Errorf("bash_sensor: create the working directory: %w", err)
		}
		defer os.RemoveAll(dir)
		c.Logf("Running command: %s", command)
		res, err := subprocess.Run(ctx, subprocess.Command{
			Name: "bash command", Path: bash, Args: []string{"-c", command},
			Dir: dir, Env: env, Log: c.Log, Grace: s.KillGrace,
		})
		if err != nil {
			return false, fmt.Errorf("bash_sensor: %w", err)
		}
		code := res.ExitCode
		c.Logf("Command exited with return code %d", code)
		switch {
		case code == 0:
			return true, nil
		case !hasRetry:
			c.Logf("Non-zero return code: not yet, will poke again")
			return false, nil
		case int64(code) == retry:
			c.Logf("Return code matches retry_exit_code: not yet, will poke again")
			return false, nil
		default:
			return false, operators.Fail(fmt.Errorf("bash_sensor: command exited with code %d (retry_exit_code is %d)", code, retry))
		}
	})
}

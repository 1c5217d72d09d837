package python

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/subprocess"
)

// venvSpec is the virtualenv of a task that gives requirements, as
// Airflow's PythonVirtualenvOperator makes one.
type venvSpec struct {
	// Base is the interpreter that creates the virtualenv.
	Base         string   `json:"base"`
	Requirements []string `json:"requirements"`
	PipOptions   []string `json:"pip_install_options"`
	SystemSite   bool     `json:"system_site_packages"`
	// Cache, when not empty, is a folder that keeps the virtualenv for
	// later tries with the same spec (venv_cache_path).
	Cache string `json:"-"`
}

// readyMark marks a complete cached virtualenv.
const readyMark = "starflow-venv.json"

// virtualenv creates the virtualenv of spec (in tmp, or found or created
// in spec.Cache) and returns its interpreter. python -m venv and pip
// write to the task log; a failure is the try's error.
func (o *Operator) virtualenv(ctx context.Context, c *operators.Call, spec venvSpec, tmp string, env []string) (string, error) {
	if spec.Cache == "" {
		dir := filepath.Join(tmp, "venv")
		if err := o.buildVenv(ctx, c, spec, dir, env); err != nil {
			return "", err
		}
		return filepath.Join(dir, "bin", "python"), nil
	}
	key, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("python: virtualenv: %w", err)
	}
	sum := sha256.Sum256(key)
	dir := filepath.Join(spec.Cache, "venv-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, readyMark)); err == nil {
		c.Logf("Reusing the cached virtualenv %s", dir)
		return filepath.Join(dir, "bin", "python"), nil
	}
	if err := os.MkdirAll(spec.Cache, 0o755); err != nil {
		return "", fmt.Errorf("python: venv_cache_path: %w", err)
	}
	// Build beside it and rename, so that concurrent tries never use a
	// half-made virtualenv; the first rename wins.
	var b [6]byte
	_, _ = rand.Read(b[:])
	build := dir + ".build-" + hex.EncodeToString(b[:])
	defer os.RemoveAll(build)
	if err := o.buildVenv(ctx, c, spec, build, env); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(build, readyMark), key, 0o644); err != nil {
		return "", fmt.Errorf("python: virtualenv: %w", err)
	}
	if err := os.Rename(build, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, readyMark)); statErr != nil {
			return "", fmt.Errorf("python: cache the virtualenv: %w", err)
		}
	}
	c.Logf("Cached the virtualenv in %s", dir)
	return filepath.Join(dir, "bin", "python"), nil
}

// buildVenv runs python -m venv and pip install into dir.
func (o *Operator) buildVenv(ctx context.Context, c *operators.Call, spec venvSpec, dir string, env []string) error {
	args := []string{"-m", "venv"}
	if spec.SystemSite {
		args = append(args, "--system-site-packages")
	}
	args = append(args, dir)
	c.Logf("Creating a virtualenv: %s %v", spec.Base, args)
	if err := o.run(ctx, c, "venv", spec.Base, args, env); err != nil {
		return fmt.Errorf("python: create the virtualenv: %w", err)
	}
	if len(spec.Requirements) == 0 {
		return nil
	}
	py := filepath.Join(dir, "bin", "python")
	pip := append([]string{"-m", "pip", "install"}, spec.PipOptions...)
	pip = append(pip, spec.Requirements...)
	c.Logf("Installing the requirements: %v", spec.Requirements)
	if err := o.run(ctx, c, "pip", py, pip, env); err != nil {
		return fmt.Errorf("python: pip install %v: %w (see the log)", spec.Requirements, err)
	}
	return nil
}

// run runs one command of the virtualenv's making, its output to the log.
func (o *Operator) run(ctx context.Context, c *operators.Call, name, path string, args, env []string) error {
	res, err := subprocess.Run(ctx, subprocess.Command{
		Name: name, Path: path, Args: args, Env: env, Log: c.Log, Grace: o.KillGrace,
	})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s exited with code %d", filepath.Base(path), res.ExitCode)
	}
	return nil
}

// strings reads a list argument of strings.
func stringItems(name string, v []any) ([]string, error) {
	out := make([]string, 0, len(v))
	for i, e := range v {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("python: %s[%d] must be a string, got %T", name, i, e)
		}
		out = append(out, s)
	}
	return out, nil
}

// branchSkips reads a branch function's return value (a task id, a list
// of them, or None) and returns the direct downstream tasks to skip.
func branchSkips(c *operators.Call, v any) (chosen, skip []string, err error) {
	switch x := v.(type) {
	case nil:
	case string:
		chosen = []string{x}
	case []any:
		if chosen, err = stringItems("the returned list", x); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("python: a branch function must return a task id, a list of task ids or None, got %T", v)
	}
	if c.DAG == nil {
		return nil, nil, errors.New("python: the call has no DAG")
	}
	skip, err = c.DAG.BranchSkips(c.Task.ID, chosen)
	return chosen, skip, err
}

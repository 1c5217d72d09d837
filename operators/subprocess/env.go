package subprocess

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/starflow-dev/starflow/operators"
)

// EnvAllowVar names the worker variable that lists more variables task
// processes inherit, separated by commas; a name ending in * is a prefix
// ("AWS_*"). STARFLOW_* variables are never passed, listed or not.
const EnvAllowVar = "STARFLOW_TASK_ENV_ALLOW"

// SafeEnv lists the variables of the worker's environment every task
// process inherits: what programs need to find commands, files, locale,
// time zone, certificates and proxies. LC_* variables pass too.
var SafeEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "HOSTNAME",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
}

// safePrefixes are prefixes of variables every task process inherits.
var safePrefixes = []string{"LC_"}

// deniedPrefix marks Starflow's own variables (database and Redis URLs,
// the secret key, ...), which no task process inherits.
const deniedPrefix = "STARFLOW_"

// Policy decides which variables of the worker's environment a task
// process inherits: SafeEnv, LC_*, and the names or prefixes of Allow.
// The zero Policy passes SafeEnv and LC_* only.
type Policy struct {
	// Allow lists more names; one ending in * is a prefix.
	Allow []string
}

// PolicyFromEnv returns the Policy that EnvAllowVar describes in the
// process environment.
func PolicyFromEnv() Policy { return ParsePolicy(os.Getenv(EnvAllowVar)) }

// ParsePolicy reads a comma-separated list of names and prefixes.
func ParsePolicy(s string) Policy {
	var p Policy
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			p.Allow = append(p.Allow, f)
		}
	}
	return p
}

// Allows reports whether the variable name passes to task processes.
func (p Policy) Allows(name string) bool {
	if name == "" || strings.HasPrefix(name, deniedPrefix) {
		return false
	}
	if slices.Contains(SafeEnv, name) {
		return true
	}
	for _, pre := range safePrefixes {
		if strings.HasPrefix(name, pre) {
			return true
		}
	}
	for _, a := range p.Allow {
		if pre, ok := strings.CutSuffix(a, "*"); ok {
			if strings.HasPrefix(name, pre) {
				return true
			}
		} else if a == name {
			return true
		}
	}
	return false
}

// Base returns the entries ("NAME=value") of environ that p allows, in
// their order: the environment a task process inherits.
func (p Policy) Base(environ []string) []string {
	out := make([]string, 0, len(SafeEnv))
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && p.Allows(name) {
			out = append(out, kv)
		}
	}
	return out
}

// Env returns a task process's environment as Airflow's BashOperator
// builds it, from the scrubbed worker environment (p.Base of the process
// environment): with taskEnv nil, the scrubbed environment; with taskEnv
// set, taskEnv alone, or the scrubbed environment with taskEnv added when
// appendEnv is true. extra (the task's context variables) comes last.
func (p Policy) Env(taskEnv []string, appendEnv bool, extra ...string) []string {
	var env []string
	if taskEnv == nil || appendEnv {
		env = p.Base(os.Environ())
	}
	env = append(env, taskEnv...)
	return append(env, extra...)
}

// TaskVars turns a task's env dict into "NAME=value" entries in name
// order, failing the try (operators.Fail) on a value that is not a string
// or a name a process environment cannot hold. render, when not nil,
// renders each value (the bash operator's templates). op names the
// operator in errors.
func TaskVars(op string, env map[string]any, render func(key, value string) (string, error)) ([]string, error) {
	vars := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v, ok := env[k].(string)
		if !ok {
			return nil, operators.Fail(fmt.Errorf("%s: env[%q] must be a string, got %s", op, k, typeName(env[k])))
		}
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, operators.Fail(fmt.Errorf("%s: env has an invalid variable name %q", op, k))
		}
		if render != nil {
			var err error
			if v, err = render(k, v); err != nil {
				return nil, fmt.Errorf("%s: env[%q]: %w", op, k, err)
			}
		}
		vars = append(vars, k+"="+v)
	}
	return vars, nil
}

// typeName names a value's type for an error message.
func typeName(v any) string {
	if v == nil {
		return "None"
	}
	return fmt.Sprintf("%T", v)
}

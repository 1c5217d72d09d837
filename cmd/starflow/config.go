package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// Configuration: one file (starflow.yaml in the working directory, or the
// file $STARFLOW_CONFIG or --config names), each key also a STARFLOW_*
// environment variable and a flag. A flag wins over the variable, the
// variable over the file, the file over the built-in default.

const (
	// envConfig names the configuration file.
	envConfig = "STARFLOW_CONFIG"
	// defaultConfigFile is read from the working directory when
	// $STARFLOW_CONFIG is unset.
	defaultConfigFile = "starflow.yaml"
)

// configKey is one setting: its key in the file, its environment
// variable, its flag (empty: none) and its built-in default.
type configKey struct {
	Name, Env, Flag, Usage string
	// Default computes the built-in default from the settings resolved so
	// far (the key file lies beside a SQLite database).
	Default func(get func(string) string) string
	// Kind checks a value: "", "int" or "port".
	Kind string
	// Path marks values that are paths, relative to the file's folder when
	// they come from a file outside the working directory.
	Path bool
	// Secret values are never printed; URL marks URLs whose password is
	// redacted when printed.
	Secret, URL bool
}

func constant(v string) func(func(string) string) string {
	return func(func(string) string) string { return v }
}

// configKeys lists every setting, in the order files and listings show them.
func configKeys() []configKey {
	return []configKey{
		{Name: "dags_folder", Env: "STARFLOW_DAGS_FOLDER", Flag: "dags", Path: true, Default: constant("dags"),
			Usage: "the DAG folder"},
		{Name: "database_url", Env: store.EnvDatabaseURL, Flag: "database-url", URL: true, Default: constant(store.DefaultDatabaseURL),
			Usage: "the metadata database: sqlite://starflow.db, sqlite:///abs/path.db or postgres://user:pass@host:5432/db"},
		{Name: "redis_url", Env: "STARFLOW_REDIS_URL", Flag: "redis-url", URL: true, Default: constant(""),
			Usage: "the Redis of the distributed queue (scheduler, worker); empty: standalone's in-process queue"},
		{Name: "secret_key_file", Env: envSecretKeyFile, Flag: "secret-key-file", Path: true,
			Default: func(get func(string) string) string { return keyFileFor(get("database_url"), "") },
			Usage:   "the file of the key that encrypts secrets at rest, created on first use (default: starflow.key beside a SQLite database)"},
		{Name: "secret_key", Env: secrets.EnvKey, Secret: true, Default: constant(""),
			Usage: "the key itself, base64 (wins over secret_key_file); no flag: a command line shows in ps"},
		{Name: "webserver_host", Env: "STARFLOW_WEBSERVER_HOST", Flag: "host", Default: constant("127.0.0.1"),
			Usage: "the webserver's address to listen on"},
		{Name: "webserver_port", Env: "STARFLOW_WEBSERVER_PORT", Flag: "port", Kind: "port", Default: constant("8080"),
			Usage: "the webserver's port (0: any free port)"},
		{Name: "log_folder", Env: "STARFLOW_LOG_FOLDER", Flag: "log-folder", Path: true,
			Default: func(get func(string) string) string { return defaultLogFolder(get("database_url")) },
			Usage:   "the folder of task logs, one file per try; workers and webservers on several hosts share it (default: logs beside a SQLite database, else ./logs)"},
		{Name: "parallelism", Env: "STARFLOW_WORKER_CONCURRENCY", Flag: "concurrency", Kind: "int",
			Default: constant(strconv.Itoa(max(runtime.NumCPU()*4, executor.DefaultConcurrency))),
			Usage:   "how many tasks a worker (or standalone) runs at once"},
	}
}

// findConfigKey returns the key called name, accepting the environment
// variable's or the flag's name too.
func findConfigKey(name string) (configKey, bool) {
	n := strings.ToLower(strings.TrimLeft(name, "-"))
	for _, k := range configKeys() {
		if n == k.Name || strings.EqualFold(name, k.Env) || (k.Flag != "" && n == k.Flag) {
			return k, true
		}
	}
	return configKey{}, false
}

// configFile is the configuration file as read: its path ("" when there is
// none) and its values, already made relative to the working directory.
type configFile struct {
	Path   string
	Values map[string]string
}

// findConfigFile returns the file to read: --config (explicit), then
// $STARFLOW_CONFIG, then starflow.yaml in the working directory if it
// exists. explicit is true when the user named the file: then it must exist.
func findConfigFile(flagValue string, lookupEnv func(string) (string, bool)) (path string, explicit bool) {
	if flagValue != "" {
		return flagValue, true
	}
	if v, ok := lookupEnv(envConfig); ok && v != "" {
		return v, true
	}
	if _, err := os.Stat(defaultConfigFile); err == nil {
		return defaultConfigFile, false
	}
	return "", false
}

// readConfigFile reads and checks a configuration file. Unknown keys,
// nested values and bad numbers are errors naming the file and key.
func readConfigFile(path string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	return parseConfig(path, data)
}

// parseConfig parses the text of the configuration file at path.
func parseConfig(path string, data []byte) (*configFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cf := &configFile{Path: path, Values: map[string]string{}}
	if len(doc.Content) == 0 {
		return cf, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: want key: value lines", path, root.Line, root.Column)
	}
	dir := filepath.Dir(path)
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], root.Content[i+1]
		k, ok := findConfigKey(kn.Value)
		if !ok || k.Name != kn.Value {
			return nil, fmt.Errorf("%s:%d:%d: unknown key %q%s", path, kn.Line, kn.Column, kn.Value, didYouMean(kn.Value, configKeyNames()))
		}
		if vn.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d:%d: %s: want a single value", path, vn.Line, vn.Column, k.Name)
		}
		v := vn.Value
		if vn.Tag == "!!null" {
			v = ""
		}
		if err := checkConfigValue(k, v); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %v", path, vn.Line, vn.Column, err)
		}
		cf.Values[k.Name] = relativeTo(dir, k, v)
	}
	return cf, nil
}

// checkConfigValue checks the form of a value.
func checkConfigValue(k configKey, v string) error {
	if v == "" || k.Kind == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %q is not a whole number", k.Name, v)
	case k.Kind == "port" && (n < 0 || n > 65535):
		return fmt.Errorf("%s: %d is not a port (0-65535)", k.Name, n)
	case k.Kind == "int" && n < 1:
		return fmt.Errorf("%s: must be at least 1, not %d", k.Name, n)
	}
	return nil
}

// relativeTo makes a relative path of a file in folder dir relative to
// the working directory instead; SQLite URLs too.
func relativeTo(dir string, k configKey, v string) string {
	if dir == "." || v == "" {
		return v
	}
	if k.Path && !filepath.IsAbs(v) {
		return filepath.Join(dir, v)
	}
	if k.Name == "database_url" && store.URLScheme(v) == "sqlite" {
		p := strings.TrimPrefix(v, "sqlite://")
		if p != ":memory:" && !strings.HasPrefix(p, "/") && !strings.Contains(p, "://") {
			return "sqlite://" + filepath.Join(dir, p)
		}
	}
	return v
}

func configKeyNames() []string {
	var names []string
	for _, k := range configKeys() {
		names = append(names, k.Name)
	}
	return names
}

// configSource says where an effective value came from.
type configSource string

const (
	sourceFlag    configSource = "flag"
	sourceEnv     configSource = "env"
	sourceFile    configSource = "file"
	sourceDefault configSource = "default"
)

// setting is a key's effective value and where it came from.
type setting struct {
	Key    string       `json:"key" yaml:"key"`
	Value  string       `json:"value" yaml:"value"`
	Source configSource `json:"source" yaml:"source"`
	Env    string       `json:"env" yaml:"env"`
	Flag   string       `json:"flag,omitempty" yaml:"flag,omitempty"`
}

// resolveConfig returns every key's effective value: from flags (the
// values given on the command line, by key name), else the environment,
// else the file (nil: none), else the default.
func resolveConfig(flags map[string]string, lookupEnv func(string) (string, bool), file *configFile) []setting {
	keys := configKeys()
	got := map[string]string{}
	get := func(name string) string { return got[name] }
	out := make([]setting, 0, len(keys))
	for _, k := range keys {
		s := setting{Key: k.Name, Env: k.Env}
		if k.Flag != "" {
			s.Flag = "--" + k.Flag
		}
		if v, ok := flags[k.Name]; ok {
			s.Value, s.Source = v, sourceFlag
		} else if v, ok := lookupEnv(k.Env); ok && v != "" {
			s.Value, s.Source = v, sourceEnv
		} else if v, ok := fileValue(file, k.Name); ok {
			s.Value, s.Source = v, sourceFile
		} else {
			s.Value, s.Source = k.Default(get), sourceDefault
		}
		got[k.Name] = s.Value
		out = append(out, s)
	}
	return out
}

func fileValue(f *configFile, key string) (string, bool) {
	if f == nil {
		return "", false
	}
	v, ok := f.Values[key]
	return v, ok
}

// applyConfigFile exports each value of the file whose environment
// variable is unset, so that every command's flags (which read their
// variable) and the code that reads the variables see it: precedence flag
// > environment > file > default. Task processes never inherit STARFLOW_*
// variables (operators/subprocess). It returns the names it set.
func applyConfigFile(f *configFile) (map[string]bool, error) {
	set := map[string]bool{}
	if f == nil {
		return set, nil
	}
	for _, k := range configKeys() {
		v, ok := f.Values[k.Name]
		if !ok {
			continue
		}
		if cur := os.Getenv(k.Env); cur != "" {
			continue // an empty variable counts as unset
		}
		if err := os.Setenv(k.Env, v); err != nil {
			return nil, fmt.Errorf("configuration: %s: %w", k.Name, err)
		}
		set[k.Env] = true
	}
	return set, nil
}

// shown is how a listing shows a value: secrets as <set> (or empty), URLs
// without their password.
func (k configKey) shown(v string) string {
	switch {
	case k.Secret && v != "":
		return "<set>"
	case k.URL && v != "":
		return store.RedactURL(v)
	}
	return v
}

// renderConfig writes a configuration file with the given values, every
// key documented; keys missing from values are left commented out.
// Secret values are never written.
func renderConfig(values map[string]string, comments map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString("# Starflow configuration. Every key is also a STARFLOW_* environment variable and a flag:\n")
	b.WriteString("# a flag wins over the variable, the variable over this file. `starflow config list` shows\n")
	b.WriteString("# the effective values and where each came from.\n")
	for _, k := range configKeys() {
		b.WriteString("\n# " + k.Usage + "\n# env " + k.Env)
		if k.Flag != "" {
			b.WriteString(", flag --" + k.Flag)
		}
		b.WriteString("\n")
		v, ok := values[k.Name]
		if !ok || k.Secret {
			if c := comments[k.Name]; c != "" {
				b.WriteString("# " + c + "\n")
			} else {
				fmt.Fprintf(&b, "# %s:\n", k.Name)
			}
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", k.Name, k.scalar(v))
	}
	return b.Bytes()
}

// scalar writes a value of k for YAML: numbers as numbers.
func (k configKey) scalar(v string) string {
	if _, err := strconv.Atoi(v); err == nil && k.Kind != "" {
		return v
	}
	return yamlScalar(v)
}

// yamlScalar quotes v when YAML would read it as something else.
func yamlScalar(v string) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return strconv.Quote(v)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// writeConfigFile writes a new configuration file (never replacing one
// unless force), readable by its owner only: it may hold a database
// password.
func writeConfigFile(path string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists (use --force to replace it)", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// didYouMean returns `; did you mean "x"?` for the name closest to s, or
// "" when none is close.
func didYouMean(s string, names []string) string {
	if best := closest(s, names); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// closest returns the name within a few edits of s (or having s as a
// prefix), "" when none is.
func closest(s string, names []string) string {
	best, bestD := "", 0
	sorted := append([]string{}, names...)
	sort.Strings(sorted)
	for _, n := range sorted {
		d := editDistance(strings.ToLower(s), strings.ToLower(n))
		if strings.HasPrefix(n, s) && len(s) >= 3 {
			d = min(d, 1)
		}
		if d <= max(2, len(s)/3) && (best == "" || d < bestD) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, with a swap of two adjacent
// letters counted as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

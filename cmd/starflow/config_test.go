package main

import (
	"strings"
	"testing"
)

// TestResolveConfigPrecedence checks flag > environment > file > default
// for every key, and that a default may depend on another key.
func TestResolveConfigPrecedence(t *testing.T) {
	file := &configFile{Path: "starflow.yaml", Values: map[string]string{
		"dags_folder": "from-file", "database_url": "sqlite:///srv/sf.db", "webserver_port": "9000", "parallelism": "3",
	}}
	env := map[string]string{"STARFLOW_DAGS_FOLDER": "from-env", "STARFLOW_WEBSERVER_PORT": "", "STARFLOW_WEBSERVER_HOST": "0.0.0.0"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	flags := map[string]string{"dags_folder": "from-flag", "parallelism": "7"}

	got := map[string]setting{}
	for _, s := range resolveConfig(flags, lookup, file) {
		got[s.Key] = s
	}
	for key, want := range map[string]struct {
		value  string
		source configSource
	}{
		"dags_folder":     {"from-flag", sourceFlag}, // flag beats env and file
		"parallelism":     {"7", sourceFlag},         // flag beats file
		"webserver_host":  {"0.0.0.0", sourceEnv},    // env beats default
		"webserver_port":  {"9000", sourceFile},      // an empty variable is unset
		"database_url":    {"sqlite:///srv/sf.db", sourceFile},
		"redis_url":       {"", sourceDefault},
		"secret_key_file": {"/srv/starflow.key", sourceDefault}, // beside the file's SQLite database
	} {
		if s := got[key]; s.Value != want.value || s.Source != want.source {
			t.Errorf("%s = %q from %s, want %q from %s", key, s.Value, s.Source, want.value, want.source)
		}
	}

	// Without the flag, the environment wins over the file.
	for _, s := range resolveConfig(nil, lookup, file) {
		if s.Key == "dags_folder" && (s.Value != "from-env" || s.Source != sourceEnv) {
			t.Errorf("dags_folder = %q from %s, want from-env from env", s.Value, s.Source)
		}
	}
	// Without a file, the defaults.
	for _, s := range resolveConfig(nil, func(string) (string, bool) { return "", false }, nil) {
		if s.Key == "dags_folder" && (s.Value != "dags" || s.Source != sourceDefault) {
			t.Errorf("dags_folder = %q from %s, want dags by default", s.Value, s.Source)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"dags_folder: a\nparallelism: many\n", `c.yaml:2:14: parallelism: "many" is not a whole number`},
		{"webserver_port: 70000\n", "c.yaml:1:17: webserver_port: 70000 is not a port"},
		{"dags: x\n", `c.yaml:1:1: unknown key "dags"; did you mean "dags_folder"?`},
		{"dags_folder: [a, b]\n", "c.yaml:1:14: dags_folder: want a single value"},
		{"- a\n", "c.yaml:1:1: want key: value lines"},
		{"dags_folder: 'x\n", "c.yaml: "},
	} {
		_, err := parseConfig("c.yaml", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want %q", tc.text, err, tc.want)
		}
	}
	cf, err := parseConfig("conf/c.yaml", []byte("# comment\ndags_folder: flows\ndatabase_url: sqlite://sf.db\nlog_folder: /var/log/sf\nparallelism: 4\nredis_url:\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dags_folder": "conf/flows", "database_url": "sqlite://conf/sf.db", "log_folder": "/var/log/sf", "parallelism": "4", "redis_url": ""}
	for k, v := range want {
		if cf.Values[k] != v {
			t.Errorf("%s = %q, want %q", k, cf.Values[k], v)
		}
	}
}

func TestRenderConfigRoundTrip(t *testing.T) {
	values := map[string]string{"dags_folder": "my dags: v2", "webserver_port": "8081", "database_url": "sqlite://sf.db", "secret_key": "never"}
	data := renderConfig(values, map[string]string{"redis_url": "redis_url: \"\"   (the default)"})
	if strings.Contains(string(data), "never") {
		t.Fatalf("a secret was written:\n%s", data)
	}
	cf, err := parseConfig("starflow.yaml", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	for k, v := range values {
		if k != "secret_key" && cf.Values[k] != v {
			t.Errorf("%s = %q, want %q", k, cf.Values[k], v)
		}
	}
	if len(cf.Values) != 3 {
		t.Errorf("read back %v, want only the three written", cf.Values)
	}
}

func TestClosest(t *testing.T) {
	names := []string{"dags", "datasets", "db", "tasks", "config", "connections"}
	for in, want := range map[string]string{"dagz": "dags", "confg": "config", "taks": "tasks", "conections": "connections", "zzzzzz": ""} {
		if got := closest(in, names); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

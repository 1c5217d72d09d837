package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// sample is a set of findings with every shape the writers must handle:
// both severities, a position without a column or a line, and characters
// that need escaping in JSON and in GitHub annotations.
func sample() []Finding {
	return []Finding{
		{Pos: dags.Pos{File: "dags/etl.star", Line: 3, Col: 28}, Rule: RuleUnusedLoad, Severity: SeverityWarning,
			Message: `"helper" is loaded from "//lib/common.star" but never used: remove it from the load statement`},
		{Pos: dags.Pos{File: "dags/etl.star", Line: 12, Col: 5}, Rule: dags.RuleCycle, Severity: SeverityError,
			Message: `DAG "etl" has a cycle: a >> b >> a`},
		{Pos: dags.Pos{File: "dags/etl.star", Line: 20}, Rule: RuleRetriesWithoutRetryDelay, Severity: SeverityWarning,
			Message: "task \"load\" has retries=3 but no retry_delay, so the default of 5m applies between tries"},
		{Pos: dags.Pos{File: "dags/odd, name:1.star"}, Rule: RuleImportError, Severity: SeverityError,
			Message: "100% broken:\r\nline two & <three>"},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	writers := []struct {
		name  string
		write func(w *bytes.Buffer, fs []Finding) error
	}{
		{"text", func(w *bytes.Buffer, fs []Finding) error { return WriteText(w, fs) }},
		{"json", func(w *bytes.Buffer, fs []Finding) error { return WriteJSON(w, fs) }},
		{"github", func(w *bytes.Buffer, fs []Finding) error { return WriteGitHub(w, fs) }},
	}
	for _, wr := range writers {
		for _, set := range []struct {
			suffix string
			fs     []Finding
		}{{"", sample()}, {"-empty", nil}} {
			name := wr.name + set.suffix
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				if err := wr.write(&buf, set.fs); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got := buf.String(); got != string(want) {
					t.Fatalf("%s output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", name, golden, got, want)
				}
			})
		}
	}
}

// TestJSONShape decodes the JSON output to check its documented contract
// independently of the golden file's formatting.
func TestJSONShape(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("want 4 objects, got %d", len(got))
	}
	want := map[string]any{"file": "dags/etl.star", "line": 12.0, "col": 5.0, "severity": "error", "rule": "cycle", "message": `DAG "etl" has a cycle: a >> b >> a`}
	for k, v := range want {
		if got[1][k] != v {
			t.Errorf("key %q = %v, want %v", k, got[1][k], v)
		}
	}
	if len(got[1]) != len(want) {
		t.Errorf("object has keys %v, want exactly %v", got[1], want)
	}
	if !strings.Contains(buf.String(), "a >> b >> a") {
		t.Errorf("'>' must not be escaped: %s", buf.String())
	}
	if got[3]["line"] != 0.0 || got[3]["col"] != 0.0 {
		t.Errorf("unknown line and col must be 0, got %v", got[3])
	}
}

func TestGitHubEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, data, property string
	}{
		{"plain text", "plain text", "plain text"},
		{"50%", "50%25", "50%25"},
		{"%0A is not a newline", "%250A is not a newline", "%250A is not a newline"},
		{"one\ntwo\r\nthree", "one%0Atwo%0D%0Athree", "one%0Atwo%0D%0Athree"},
		{"a:b,c", "a:b,c", "a%3Ab%2Cc"},
		{"dags/my dag.star", "dags/my dag.star", "dags/my dag.star"},
		{"::error::", "::error::", "%3A%3Aerror%3A%3A"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := escapeData(tt.in); got != tt.data {
				t.Errorf("escapeData(%q) = %q, want %q", tt.in, got, tt.data)
			}
			if got := escapeProperty(tt.in); got != tt.property {
				t.Errorf("escapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
			}
		})
	}
}

func TestGitHubOneLinePerFinding(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteGitHub(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(sample()) {
		t.Fatalf("want %d lines, got %d:\n%s", len(sample()), len(lines), buf.String())
	}
	for i, l := range lines {
		level := "::" + string(sample()[i].Severity) + " file="
		if !strings.HasPrefix(l, level) {
			t.Errorf("line %d = %q, want prefix %q", i, l, level)
		}
	}
}

// failingWriter fails every write, like a closed pipe.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	for name, write := range map[string]func() error{
		"text":   func() error { return WriteText(failingWriter{}, sample()) },
		"json":   func() error { return WriteJSON(failingWriter{}, sample()) },
		"github": func() error { return WriteGitHub(failingWriter{}, sample()) },
	} {
		if err := write(); err == nil || !strings.Contains(err.Error(), "broken pipe") {
			t.Errorf("%s: want the writer's error, got %v", name, err)
		}
	}
}

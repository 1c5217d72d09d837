package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/envsecrets"
	"github.com/starflow-dev/starflow/runtime/localrun"
)

// migratingGuide is the guide for Airflow users; every ```starlark block
// of it is tested here.
var migratingGuide = filepath.Join("..", "..", "docs", "migrating-from-airflow.md")

// guideSnippet is one ```starlark block of the guide and what the comment
// line before it says of it:
//
//	<!-- states: a=success b=skipped -->  a whole DAG, run as test-dag runs it
//	<!-- error: text -->                  loading fails with a finding containing text
//	<!-- file: path -->                   (before any block) a file of the DAG folder
type guideSnippet struct {
	line   int
	code   string
	states map[string]string
	err    string
}

// parseGuide returns the guide's Starlark snippets and the files it shows.
func parseGuide(t *testing.T, doc string) (snippets []guideSnippet, files map[string]string) {
	t.Helper()
	files = map[string]string{}
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok || lang == "" {
			continue
		}
		start := i + 1
		j := start
		for j < len(lines) && lines[j] != "```" {
			j++
		}
		code := strings.Join(lines[start:j], "\n") + "\n"
		marker := ""
		for k := i - 1; k >= 0; k-- {
			if strings.TrimSpace(lines[k]) != "" {
				marker = strings.TrimSpace(lines[k])
				break
			}
		}
		if m, ok := strings.CutPrefix(marker, "<!-- file: "); ok {
			files[strings.TrimSuffix(m, " -->")] = code
		} else if lang == "starlark" {
			s := guideSnippet{line: start + 1, code: code}
			if m, ok := strings.CutPrefix(marker, "<!-- states: "); ok {
				s.states = map[string]string{}
				for _, kv := range strings.Fields(strings.TrimSuffix(m, " -->")) {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						t.Fatalf("guide line %d: bad state %q", start, kv)
					}
					s.states[k] = v
				}
			} else if m, ok := strings.CutPrefix(marker, "<!-- error: "); ok {
				s.err = strings.TrimSuffix(m, " -->")
			}
			snippets = append(snippets, s)
		}
		i = j
	}
	return snippets, files
}

// TestMigrationGuide loads every Starlark snippet of
// docs/migrating-from-airflow.md with the loader the CLI uses: a snippet
// marked with states is a whole DAG and is run with test-dag's in-process
// runner, each task ending in the state given; a snippet marked with an
// error must fail to load with that error; any other snippet must load
// and define no DAG.
func TestMigrationGuide(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(migratingGuide)
	if err != nil {
		t.Fatal(err)
	}
	snippets, files := parseGuide(t, string(doc))
	if len(snippets) < 10 {
		t.Fatalf("found only %d Starlark snippets in %s", len(snippets), migratingGuide)
	}

	// The services the guide's snippets use: an HTTP API and the test
	// PostgreSQL, as connections, and a variable, given as test-dag reads
	// them, from STARFLOW_CONN_* and STARFLOW_VAR_* environment variables.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "users": []string{"ada", "linus"}})
	}))
	t.Cleanup(api.Close)
	pg := os.Getenv("STARFLOW_TEST_POSTGRES_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	env := map[string]string{
		"STARFLOW_CONN_USERS_API": api.URL,
		"STARFLOW_CONN_WAREHOUSE": pg,
		"STARFLOW_VAR_ROW_LIMIT":  "500",
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := newLoader(logger)
	t.Cleanup(func() { _ = l.Close() })
	for _, s := range snippets {
		t.Run(fmt.Sprintf("line_%d", s.line), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for p, c := range files {
				writeGuideFile(t, filepath.Join(dir, filepath.FromSlash(p)), c)
			}
			path := filepath.Join(dir, "guide.star")
			writeGuideFile(t, path, s.code)
			f := l.LoadPath(context.Background(), dir, path)
			if s.err != "" {
				if len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Message, s.err) {
					t.Fatalf("migrating-from-airflow.md:%d: got findings %v, want one containing %q", s.line, f.Errors, s.err)
				}
				return
			}
			for _, e := range f.Errors {
				t.Errorf("migrating-from-airflow.md:%d: %s: %s", s.line, e.Pos, e.Message)
			}
			if t.Failed() {
				return
			}
			if s.states == nil {
				if len(f.DAGs) != 0 {
					t.Fatalf("migrating-from-airflow.md:%d: the snippet defines a DAG but says no <!-- states: ... -->", s.line)
				}
				return
			}
			if len(f.DAGs) != 1 {
				t.Fatalf("migrating-from-airflow.md:%d: want one DAG, got %d", s.line, len(f.DAGs))
			}
			d := f.DAGs[0]
			info, err := manualRun(d, "2024-01-01", "")
			if err != nil {
				t.Fatal(err)
			}
			opts, closePools := localOptions(logger, f)
			defer closePools()
			opts.Variables = envsecrets.Variables{Lookup: lookup}
			opts.Connections = envsecrets.Connections{Lookup: lookup}
			opts.LogDir = t.TempDir()
			res, err := localrun.Run(context.Background(), d, info, opts)
			if err != nil {
				t.Fatalf("migrating-from-airflow.md:%d: run: %v", s.line, err)
			}
			got := map[string]string{}
			for _, tr := range res.Tasks {
				id := tr.TaskID
				if tr.MapIndex >= 0 {
					id = fmt.Sprintf("%s[%d]", tr.TaskID, tr.MapIndex)
				}
				got[id] = string(tr.State)
				if tr.State == dags.TaskStateFailed && s.states[id] != string(dags.TaskStateFailed) {
					t.Logf("%s failed: %s\n%s", id, tr.Err, readLog(tr.LogPath))
				}
			}
			if fmt.Sprint(sortedStates(got)) != fmt.Sprint(sortedStates(s.states)) {
				t.Errorf("migrating-from-airflow.md:%d: task states\n got %v\nwant %v", s.line, sortedStates(got), sortedStates(s.states))
			}
		})
	}
}

func writeGuideFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readLog(path string) string {
	if path == "" {
		return ""
	}
	b, _ := os.ReadFile(path)
	return string(b)
}

func sortedStates(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

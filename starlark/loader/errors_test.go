package loader_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/loader"
)

var update = flag.Bool("update", false, "rewrite the expectations in testdata")

// TestErrors loads every testdata/errors/*.star file and compares its
// findings with the file's header: one "# error: file:line:col: message"
// line per finding, then "# rule: id" lines in the same order, then
// optionally "# valid: dag_id ..." for the DAGs that load all the same.
func TestErrors(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "errors")
	files, err := filepath.Glob(filepath.Join(dir, "*.star"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s: %v", dir, err)
	}
	// The step and size limits decide these cases, not the wall clock: a
	// loaded CI machine running -race must reach the same finding.
	const timeLimit = time.Minute
	l := loader.New(loader.Options{Logger: discardLogger(), Timeout: timeLimit})
	src := loader.Source{FS: os.DirFS(dir)}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".star"), func(t *testing.T) {
			t.Parallel()
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wantErrs, wantRules, wantValid, body := readHeader(string(content))
			start := time.Now()
			f := l.Load(context.Background(), src, name)
			elapsed := time.Since(start)
			if elapsed > timeLimit {
				t.Errorf("loading took %s, longer than the time limit", elapsed)
			}
			var gotValid []string
			for _, d := range f.DAGs {
				gotValid = append(gotValid, d.ID)
			}
			if strings.Join(gotValid, " ") != strings.Join(wantValid, " ") {
				t.Errorf("valid DAGs: got %v, want %v", gotValid, wantValid)
			}
			gotErrs, gotRules := format(f.Errors)
			if *update {
				writeHeader(t, path, gotErrs, gotRules, wantValid, body)
				return
			}
			if strings.Join(gotErrs, "\n") != strings.Join(wantErrs, "\n") {
				t.Errorf("errors:\n got: %s\nwant: %s", strings.Join(gotErrs, "\n      "), strings.Join(wantErrs, "\n      "))
			}
			if strings.Join(gotRules, " ") != strings.Join(wantRules, " ") {
				t.Errorf("rules: got %v, want %v", gotRules, wantRules)
			}
			for _, e := range f.Errors {
				if !e.Pos.IsValid() || e.Pos.File == "" {
					t.Errorf("finding without a position: %+v", e)
				}
				if strings.Contains(e.Message, "\n") {
					t.Errorf("finding message has several lines: %q", e.Message)
				}
			}
		})
	}
}

// format returns "file:line:col: message" and the rule of each finding.
func format(fs []dags.Finding) (errs, rules []string) {
	for _, f := range fs {
		errs = append(errs, f.Pos.String()+": "+f.Message)
		rules = append(rules, f.Rule)
	}
	return errs, rules
}

// readHeader splits the leading "# error:", "# rule:" and "# valid:" lines
// off a file; "# valid:" lists the DAGs that load despite the errors.
func readHeader(content string) (errs, rules, valid []string, body string) {
	lines := strings.SplitAfter(content, "\n")
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\n")
		if e, ok := strings.CutPrefix(line, "# error: "); ok {
			errs = append(errs, e)
		} else if r, ok := strings.CutPrefix(line, "# rule: "); ok {
			rules = append(rules, r)
		} else if v, ok := strings.CutPrefix(line, "# valid: "); ok {
			valid = append(valid, strings.Fields(v)...)
		} else {
			break
		}
	}
	return errs, rules, valid, strings.Join(lines[i:], "")
}

// writeHeader rewrites a test file's header with the findings got. Line
// numbers in expectations count the header, so it keeps its length when
// the number of findings stays the same.
func writeHeader(t *testing.T, path string, errs, rules, valid []string, body string) {
	t.Helper()
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("# error: " + e + "\n")
	}
	for _, r := range rules {
		b.WriteString("# rule: " + r + "\n")
	}
	if len(valid) > 0 {
		b.WriteString("# valid: " + strings.Join(valid, " ") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()+body), 0o644); err != nil {
		t.Fatal(err)
	}
}

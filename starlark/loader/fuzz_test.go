package loader_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/starlark/loader"
)

// FuzzLoad checks that no input makes the loader panic and that every
// finding has a position and one line. Seeds live in testdata/fuzz/FuzzLoad
// and run with every go test; go test -fuzz=FuzzLoad explores further.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(goodDAG))
	l := loader.New(loader.Options{MaxSteps: 200_000, Timeout: 2 * time.Second, Logger: discardLogger()})
	f.Fuzz(func(t *testing.T, src []byte) {
		files := map[string]string{
			"f.star":           string(src),
			"lib/helpers.star": "def helper(x):\n    return bash(task_id = x, bash_command = 'true')\nvalue = 1\n",
		}
		file := l.Load(context.Background(), loader.BundleSource("", files), "f.star")
		for _, e := range file.Errors {
			if !e.Pos.IsValid() || e.Pos.File == "" {
				t.Errorf("finding without a position: %+v", e)
			}
			if strings.Contains(e.Message, "internal error") {
				t.Errorf("a panic was recovered: %s: %s", e.Pos, e.Message)
			}
			if strings.Contains(e.Message, "\n") {
				t.Errorf("finding of several lines: %q", e.Message)
			}
			if e.Rule == "" {
				t.Errorf("finding without a rule: %+v", e)
			}
		}
		if len(file.Errors) == 0 {
			for _, d := range file.DAGs {
				if len(d.Finalize()) != 0 {
					t.Errorf("DAG %s returned with findings", d.ID)
				}
			}
		}
	})
}

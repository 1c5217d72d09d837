package dagfolder_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/starflow-dev/starflow/internal/dagfolder"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

func TestParseSeedsTheVersionCache(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := "def build():\n    empty(task_id = \"a\")\n\ndag(dag_id = \"good\", build = build)\n"
	if err := os.WriteFile(filepath.Join(dir, "good.star"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.star"), []byte("dag(\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := loader.New(loader.Options{})
	fetches := 0
	versions := call.NewVersions(l, func(context.Context, string) (call.Bundle, error) {
		fetches++
		return call.Bundle{}, os.ErrNotExist
	}, 8)
	files, err := dagfolder.New(l, dir, versions).Parse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != filepath.Join(dir, "broken.star") || len(files[0].Errors) == 0 || len(files[1].DAGs) != 1 {
		t.Fatalf("files %+v", files)
	}
	d, err := versions.DAG(context.Background(), "good", files[1].Hash)
	if err != nil || d.ID != "good" || fetches != 0 {
		t.Fatalf("cached DAG %v, %v after %d fetches; want it served from the seeded cache", d, err, fetches)
	}
}

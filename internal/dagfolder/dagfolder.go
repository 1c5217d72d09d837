// Package dagfolder connects the Starlark loader to the DAG processor: a
// loader.Bag seen as a dagprocessor.Parser. It is wiring, shared by the
// daemons and by the tests that run a real DAG folder through the store;
// runtime/ may not import starlark/ and starlark/ may not import runtime/,
// so the adapter lives here.
package dagfolder

import (
	"context"

	"github.com/starflow-dev/starflow/runtime/dagprocessor"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// Parser parses a DAG folder with a Bag (each file once per content hash)
// and adds every good file to a version cache, so that the scheduler and
// workers of the same process never parse it again.
type Parser struct {
	Bag *loader.Bag
	// Versions, when set, is seeded with each file that loaded cleanly.
	Versions *call.Versions
}

var _ dagprocessor.Parser = (*Parser)(nil)

// New returns a Parser over the folder dir.
func New(l *loader.Loader, dir string, versions *call.Versions) *Parser {
	return &Parser{Bag: loader.NewBag(l, loader.DirSource(dir)), Versions: versions}
}

// Parse refreshes the bag and returns every file as the processor sees it.
func (p *Parser) Parse(ctx context.Context) ([]dagprocessor.ParsedFile, error) {
	if _, err := p.Bag.Refresh(ctx); err != nil {
		return nil, err
	}
	files := p.Bag.Files()
	out := make([]dagprocessor.ParsedFile, 0, len(files))
	for _, f := range files {
		if f.OK() && p.Versions != nil {
			p.Versions.Add(f)
		}
		out = append(out, dagprocessor.ParsedFile{Name: f.Name, Hash: f.Hash, Dir: f.Dir, EntryFile: f.Path, Files: f.Sources, DAGs: f.DAGs, Errors: f.Errors})
	}
	return out, nil
}

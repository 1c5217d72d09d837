package loader

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"time"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// File is the result of evaluating one DAG file. It is immutable and safe
// for concurrent use.
type File struct {
	// Path is the file's slash path relative to its Source root, and Name
	// how positions name it ("dags/etl.star").
	Path string
	Name string
	// Dir is the Source's Dir, so the file can be re-loaded from Sources
	// with the same names: BundleSource(f.Dir, f.Sources).
	Dir string
	// Hash is the hex SHA-256 of the file and every module it loads
	// (paths and contents); every DAG's SourceHash is set to it.
	Hash string
	// Sources holds the text of the file and of every module it loads,
	// by root-relative path.
	Sources map[string]string
	// DAGs are the valid DAGs defined by the file, in definition order.
	DAGs []*dags.DAG
	// Errors are the import errors and the findings of invalid DAGs,
	// sorted by position. A file that failed to evaluate has no DAGs.
	Errors []dags.Finding
	// Steps and Duration measure the evaluation.
	Steps    uint64
	Duration time.Duration

	funcs map[string]starlark.Callable
	// deps holds every path the evaluation tried to read, with the content
	// read or missingFile, so a Bag can tell whether the file is unchanged.
	deps map[string]string
}

// missingFile stands for a path that could not be read: a content no DAG
// file has in practice.
const missingFile = "\xff\x00missing"

// OK reports whether the file has no errors.
func (f *File) OK() bool { return len(f.Errors) == 0 }

// DAG returns the DAG with the given id, or nil.
func (f *File) DAG(id string) *dags.DAG {
	for _, d := range f.DAGs {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// Function returns the frozen Starlark callable registered under key (a
// dags.Task.Function or callback key). It exists for starlark/call; other
// packages must not handle Starlark values.
func (f *File) Function(key string) (starlark.Callable, bool) {
	fn, ok := f.funcs[key]
	return fn, ok
}

// FunctionKeys returns the registered keys, sorted.
func (f *File) FunctionKeys() []string {
	keys := make([]string, 0, len(f.funcs))
	for k := range f.funcs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hashSources returns the hex SHA-256 of the sources: each path and
// content, length-prefixed, in path order.
func hashSources(sources map[string]string) string {
	paths := make([]string, 0, len(sources))
	for p := range sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		c := sources[p]
		h.Write([]byte(strconv.Itoa(len(p)) + ":" + p + strconv.Itoa(len(c)) + ":"))
		h.Write([]byte(c))
	}
	return hex.EncodeToString(h.Sum(nil))
}

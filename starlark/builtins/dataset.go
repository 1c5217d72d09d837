package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// Dataset is the value dataset(uri) returns: a logical piece of data that
// tasks update (outlets) and DAGs are scheduled on (schedule), as
// Airflow's Dataset (Asset in Airflow 3).
type Dataset struct {
	uri string
}

var (
	_ starlark.HasAttrs   = Dataset{}
	_ starlark.Comparable = Dataset{}
)

// URI returns the dataset's URI.
func (d Dataset) URI() string { return d.uri }

// String returns dataset("uri").
func (d Dataset) String() string { return fmt.Sprintf("dataset(%q)", d.uri) }

// Type returns "dataset".
func (d Dataset) Type() string { return "dataset" }

// Freeze does nothing: a dataset is immutable.
func (d Dataset) Freeze() {}

// Truth returns True.
func (d Dataset) Truth() starlark.Bool { return starlark.True }

// Hash hashes the URI.
func (d Dataset) Hash() (uint32, error) { return starlark.String(d.uri).Hash() }

// CompareSameType compares the URIs.
func (d Dataset) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return starlark.CompareDepth(op, starlark.String(d.uri), starlark.String(y.(Dataset).uri), depth)
}

// Attr returns uri.
func (d Dataset) Attr(name string) (starlark.Value, error) {
	if name == "uri" {
		return starlark.String(d.uri), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (d Dataset) AttrNames() []string { return []string{"uri"} }

// datasetFn implements dataset(uri).
func datasetFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var uri string
	if err := unpack(fn.Name(), args, kwargs, 1, "uri", &uri); err != nil {
		return nil, err
	}
	if err := dags.CheckDatasetURI(uri); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return Dataset{uri: uri}, nil
}

// datasetsOf reads a list of dataset() values (outlets, a dataset
// schedule). A string in place of a dataset gets a hint.
func datasetsOf(v starlark.Value) ([]string, error) {
	elems, ok := asList(v)
	if !ok {
		if _, one := v.(Dataset); one {
			return nil, fmt.Errorf("got a dataset, want a list of datasets: write [%s]", v)
		}
		return nil, fmt.Errorf("got %s, want a list of dataset(...) values", v.Type())
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		d, ok := e.(Dataset)
		if !ok {
			if s, str := e.(starlark.String); str {
				return nil, fmt.Errorf("item %d: got string, want dataset: write dataset(%q)", i, string(s))
			}
			return nil, fmt.Errorf("item %d: got %s, want dataset", i, e.Type())
		}
		out = append(out, d.uri)
	}
	return out, nil
}

package dags

import (
	"fmt"
	"strings"
)

// DatasetOp combines the parts of a DatasetCond.
type DatasetOp string

// The operators of a dataset condition: Airflow's DatasetAll (AssetAll,
// `a & b`, a list) and DatasetAny (AssetAny, `a | b`).
const (
	DatasetAll DatasetOp = "all"
	DatasetAny DatasetOp = "any"
)

// DatasetCond is a condition on dataset updates, as Airflow's conditional
// dataset expressions: a leaf names one dataset (URI, Op empty), which
// holds when it was updated; an inner node holds when all (DatasetAll) or
// any (DatasetAny) of its parts hold.
type DatasetCond struct {
	URI string
	Op  DatasetOp
	Of  []DatasetCond
}

// DatasetLeaf returns the condition that uri was updated.
func DatasetLeaf(uri string) DatasetCond { return DatasetCond{URI: uri} }

// Eval reports whether the condition holds when exactly the datasets for
// which updated returns true were updated. An empty all holds and an empty
// any does not, as Python's all() and any().
func (c DatasetCond) Eval(updated func(uri string) bool) bool {
	switch c.Op {
	case DatasetAll:
		for _, x := range c.Of {
			if !x.Eval(updated) {
				return false
			}
		}
		return true
	case DatasetAny:
		for _, x := range c.Of {
			if x.Eval(updated) {
				return true
			}
		}
		return false
	}
	return updated(c.URI)
}

// URIs returns the datasets the condition names, each once, in the order
// they first appear.
func (c DatasetCond) URIs() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(DatasetCond)
	walk = func(c DatasetCond) {
		if c.Op == "" {
			if !seen[c.URI] {
				seen[c.URI] = true
				out = append(out, c.URI)
			}
			return
		}
		for _, x := range c.Of {
			walk(x)
		}
	}
	walk(c)
	return out
}

// String writes the condition as Airflow users write it: "a & (b | c)".
// Nested combinations are parenthesised; URIs hold no white space, so the
// operators, separated by spaces, never clash with one.
func (c DatasetCond) String() string { return c.format(false) }

func (c DatasetCond) format(nested bool) string {
	if c.Op == "" {
		return c.URI
	}
	sep := " & "
	if c.Op == DatasetAny {
		sep = " | "
	}
	parts := make([]string, len(c.Of))
	for i, x := range c.Of {
		parts[i] = x.format(true)
	}
	s := strings.Join(parts, sep)
	if nested && len(c.Of) > 1 {
		s = "(" + s + ")"
	}
	return s
}

// Check reports a condition Starflow cannot use: a bad URI (CheckDatasetURI)
// or a combination of nothing.
func (c DatasetCond) Check() error {
	switch c.Op {
	case "":
		return CheckDatasetURI(c.URI)
	case DatasetAll, DatasetAny:
		if len(c.Of) == 0 {
			return fmt.Errorf("a dataset condition combines no dataset")
		}
		for _, x := range c.Of {
			if err := x.Check(); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown dataset condition operator %q", c.Op)
}

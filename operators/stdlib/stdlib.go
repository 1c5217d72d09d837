// Package stdlib registers the operators Starflow ships, so that the
// program, its DAG loaders and the tests agree on one list.
package stdlib

import (
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/bash"
	"github.com/starflow-dev/starflow/operators/branch"
	"github.com/starflow-dev/starflow/operators/empty"
	"github.com/starflow-dev/starflow/operators/function"
	httpop "github.com/starflow-dev/starflow/operators/http"
	"github.com/starflow-dev/starflow/operators/python"
	"github.com/starflow-dev/starflow/operators/sensors"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/operators/trigger"
)

// Register adds every shipped operator to r; the sql operator takes its
// connections from pools (nil: a connection per try).
func Register(r *operators.Registry, pools *sqlop.Pools) {
	bash.Register(r)
	empty.Register(r)
	function.Register(r)
	branch.Register(r)
	httpop.Register(r)
	python.Register(r)
	sqlop.RegisterPooled(r, pools)
	trigger.Register(r)
	sensors.Register(r)
}

// Specs returns the argument specs of the shipped operators that have one:
// what a DAG loader needs to make their builtins.
func Specs() []operators.Spec {
	r := operators.NewRegistry()
	Register(r, nil)
	return r.Specs()
}

package builtins

import (
	"slices"

	"github.com/starflow-dev/starflow/operators"
)

// Names returns the sorted names Universe(specs...) predeclares, for
// tools such as the language server that must not hold Starlark values.
func Names(specs ...operators.Spec) []string {
	u := Universe(specs...)
	names := make([]string, 0, len(u))
	for name := range u {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// CommonKeywords returns the keywords every task builtin takes besides
// task_id and its own, in the order the reference lists them.
func CommonKeywords() []string {
	return append(slices.Clone(commonNames[:]), taskOnlyNames[:]...)
}

package pylib

import (
	"go.starlark.net/lib/math"
	"go.starlark.net/starlark"
)

// Universe returns the Python builtins and modules, frozen: sum, round,
// isinstance, divmod, pow, callable, map, filter, json, math, re and
// datetime.
func Universe() starlark.StringDict {
	u := starlark.StringDict{
		"json":     jsonModule(),
		"math":     math.Module,
		"re":       reModule(),
		"datetime": datetimeModule(),
	}
	for name, fn := range map[string]builtinFn{
		"sum":        sum,
		"round":      round,
		"isinstance": isinstance,
		"divmod":     divmod,
		"pow":        pow,
		"callable":   callable,
		"map":        mapFn,
		"filter":     filterFn,
	} {
		u[name] = safe(name, fn)
	}
	u.Freeze()
	return u
}

package loader

import (
	"fmt"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/starflow-dev/starflow/starlark/builtins"
)

// runtimeModules returns the time module (json, math and the other Python
// modules come from starlark/pylib). time.now() is
// refused while a file is parsed and allowed when a task function runs
// (a thread marked with builtins.SetRuntime).
func runtimeModules() starlark.StringDict {
	members := make(starlark.StringDict, len(startime.Module.Members))
	for k, v := range startime.Module.Members {
		members[k] = v
	}
	realNow := startime.Module.Members["now"].(*starlark.Builtin)
	members["now"] = starlark.NewBuiltin("now", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if !builtins.IsRuntime(thread) {
			return nil, fmt.Errorf("time.now() is not allowed while a DAG file is parsed; call it inside a task function")
		}
		return starlark.Call(thread, realNow, args, kwargs)
	})
	timeModule := &starlarkstruct.Module{Name: "time", Members: members}
	return starlark.StringDict{
		"time": timeModule,
	}
}

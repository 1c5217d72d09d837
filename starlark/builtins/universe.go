package builtins

import (
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Universe returns the authoring builtins, frozen, for the predeclared
// environment of DAG files: dag, bash, task, branch, short_circuit, empty,
// group, chain, cross_downstream, timedelta and dataset, and one builtin per spec
// (an Operator named after the spec's Kind, which replaces a hand-written
// builtin of the same name). The program that wires Starflow passes the
// specs of its operator registry; there is no global list.
func Universe(specs ...operators.Spec) starlark.StringDict {
	u := starlark.StringDict{}
	for _, b := range []struct {
		name string
		fn   func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)
	}{
		{"dag", dagFn},
		{"bash", bashFn},
		{"branch", branchFn},
		{"short_circuit", shortCircuitFn},
		{"empty", emptyFn},
		{"group", groupFn},
		{"chain", chainFn},
		{"cross_downstream", crossDownstreamFn},
		{"chain_linear", chainLinearFn},
		{"Label", labelFn},
		{"timedelta", timedeltaFn},
		{"partial", partialFn},
		{"dataset", datasetFn},
		{"Dataset", datasetFn},
		{"Asset", assetFn},
		{"DatasetAll", datasetAllFn},
		{"DatasetAny", datasetAnyFn},
		{"AssetAll", datasetAllFn},
		{"AssetAny", datasetAnyFn},
		{"DatasetOrTimeSchedule", datasetOrTimeScheduleFn},
		{"AssetOrTimeSchedule", datasetOrTimeScheduleFn},
		{"CronTriggerTimetable", cronTriggerTimetableFn},
		{"webhook_notifier", webhookNotifierFn},
		{"email_notifier", emailNotifierFn},
		{"PokeReturnValue", pokeReturnValueFn},
		{"Param", paramFn},
		{"setup", setupFn},
		{"teardown", teardownFn},
		{"within", withinFn},
	} {
		u[b.name] = Safe(b.name, b.fn)
	}
	for _, s := range specs {
		u[s.Kind] = NewOperator(s)
	}
	ps, _ := u["python_sensor"].(starlark.Callable)
	u["task"] = newTaskFamily(ps)
	u.Freeze()
	return u
}

// Safe wraps a builtin so that a Go panic inside it becomes an ordinary
// Starlark error, reported at the position of the user's call.
func Safe(name string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (v starlark.Value, err error) {
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, fmt.Errorf("%s: internal error: %v", name, r)
			}
		}()
		return fn(thread, b, args, kwargs)
	})
}

// timedeltaFn implements timedelta(days=0, hours=0, minutes=0, seconds=0,
// milliseconds=0); each argument may be an int or a float.
func timedeltaFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var days, hours, minutes, seconds, millis starlark.Value = starlark.MakeInt(0), starlark.MakeInt(0), starlark.MakeInt(0), starlark.MakeInt(0), starlark.MakeInt(0)
	if err := unpack(fn.Name(), args, kwargs, 0,
		"days?", &days, "hours?", &hours, "minutes?", &minutes, "seconds?", &seconds, "milliseconds?", &millis); err != nil {
		return nil, err
	}
	var total float64
	for _, part := range []struct {
		name string
		v    starlark.Value
		unit time.Duration
	}{
		{"days", days, 24 * time.Hour},
		{"hours", hours, time.Hour},
		{"minutes", minutes, time.Minute},
		{"seconds", seconds, time.Second},
		{"milliseconds", millis, time.Millisecond},
	} {
		f, ok := starlark.AsFloat(part.v)
		if !ok {
			return nil, fmt.Errorf("timedelta: for parameter %s: got %s, want int or float", part.name, part.v.Type())
		}
		total += f * float64(part.unit)
	}
	if total != total || total > float64(dags.MaxDuration) || total < -float64(dags.MaxDuration) {
		return nil, fmt.Errorf("timedelta: out of range (at most %s)", dags.FormatDuration(dags.MaxDuration))
	}
	return Duration(time.Duration(total)), nil
}

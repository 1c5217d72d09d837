package builtins

import (
	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/operators/sensors"
)

// pokeReturnValueFn implements PokeReturnValue(is_done, xcom_value=None),
// what a python_sensor's function returns to say whether it is done and
// what the sensor pushes as its XCom, as Airflow's PokeReturnValue. The
// value is a dict with a marker key, so that it travels as a plain value.
func pokeReturnValueFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var isDone starlark.Value
	var xcom starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "is_done", &isDone, "xcom_value?", &xcom); err != nil {
		return nil, err
	}
	d := starlark.NewDict(3)
	_ = d.SetKey(starlark.String(sensors.PokeReturnValueKey), starlark.True)
	_ = d.SetKey(starlark.String("is_done"), isDone.Truth())
	_ = d.SetKey(starlark.String("xcom_value"), xcom)
	return d, nil
}

package dags_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

// TestXComExpressions checks zip, concat and map chains against the values
// Airflow's _ZipResult, _ConcatResult and _MapResult give.
func TestXComExpressions(t *testing.T) {
	t.Parallel()
	values := map[string]any{
		"a": []any{int64(1), int64(2), int64(3)},
		"b": []any{"x", "y"},
		"d": map[string]any{"k2": int64(2), "k1": int64(1)},
		"n": nil,
	}
	resolve := func(ref dags.XComRef) (any, error) { return values[ref.TaskID], nil }
	ref := func(id string, fns ...string) dags.XComRef {
		return dags.XComRef{TaskID: id, Key: dags.ReturnValueKey, MapFns: fns}
	}
	// Map functions: "inc" adds one to an int, "wrap" puts an item in a list.
	mapItem := func(fn string, item any) (any, error) {
		switch fn {
		case "inc":
			return item.(int64) + 1, nil
		case "wrap":
			return []any{"w", item}, nil
		}
		return nil, fmt.Errorf("unknown function %s", fn)
	}
	cases := []struct {
		name  string
		value any
		want  string // the items, or the error
	}{
		{"zip stops at the shortest", dags.XComZip{Args: []any{ref("a"), ref("b")}}, "[[1 x] [2 y]]"},
		{"zip with a fillvalue goes to the longest", dags.XComZip{Args: []any{ref("a"), ref("b")}, Fill: "-", HasFill: true}, "[[1 x] [2 y] [3 -]]"},
		{"zip with fillvalue None fills None", dags.XComZip{Args: []any{ref("b"), ref("a")}, HasFill: true}, "[[x 1] [y 2] [<nil> 3]]"},
		{"zip of a dict zips its [key, value] pairs", dags.XComZip{Args: []any{ref("d"), ref("b")}}, "[[[k1 1] x] [[k2 2] y]]"},
		{"concat chains", dags.XComConcat{Args: []any{ref("a"), ref("b"), ref("a")}}, "[1 2 3 x y 1 2 3]"},
		{"map of map applies both in order", ref("a", "inc", "wrap"), "[[w 2] [w 3] [w 4]]"},
		{"map after zip gets the zipped list", dags.XComZip{Args: []any{ref("a", "inc"), ref("b")}, MapFns: []string{"wrap"}}, "[[w [2 x]] [w [3 y]]]"},
		{"concat of a zip and a map", dags.XComConcat{Args: []any{dags.XComZip{Args: []any{ref("b"), ref("b")}}, ref("a", "inc")}}, "[[x x] [y y] 2 3 4]"},
		{"zip of None fails", dags.XComZip{Args: []any{ref("a"), ref("n")}}, "mapped argument x: the output of n is None, want a list or a dict"},
		{"concat of a number fails", dags.XComConcat{Args: []any{ref("a"), 7}}, "mapped argument x: cannot map over the value, a int: want a list or a dict"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task := dags.NewTask("m", dags.OperatorTask, dags.Pos{})
			task.Expand = []dags.MapArg{{Name: "x", Value: c.value}}
			n, err := dags.MapLength(task, resolve)
			if err != nil {
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("MapLength error %q, want %q", err, c.want)
				}
				return
			}
			items := make([]any, n)
			for i := range n {
				v, err := dags.MapValuesWith(task, i, resolve, mapItem)
				if err != nil {
					t.Fatalf("MapValuesWith(%d): %v", i, err)
				}
				items[i] = v["x"]
			}
			if got := fmt.Sprint(items); got != c.want {
				t.Errorf("items %s, want %s", got, c.want)
			}
		})
	}
}

// TestMapLengthRunsNoMapFunction checks that the scheduler's length of a
// mapped argument needs no function runner, as in Airflow (the length of
// a map is the length of what it maps).
func TestMapLengthRunsNoMapFunction(t *testing.T) {
	t.Parallel()
	task := dags.NewTask("m", dags.OperatorTask, dags.Pos{})
	task.Expand = []dags.MapArg{{Name: "x", Value: dags.XComZip{Args: []any{
		dags.XComRef{TaskID: "a", MapFns: []string{"f"}}, dags.XComConcat{Args: []any{dags.XComRef{TaskID: "a"}, dags.XComRef{TaskID: "a"}}},
	}, HasFill: true, MapFns: []string{"g"}}}}
	n, err := dags.MapLength(task, func(dags.XComRef) (any, error) { return []any{1, 2}, nil })
	if err != nil || n != 4 {
		t.Errorf("MapLength = %d, %v; want 4 (the longest of 2 and 2+2)", n, err)
	}
	if _, err := dags.MapValues(task, 0, func(dags.XComRef) (any, error) { return []any{1, 2}, nil }); err == nil ||
		!strings.Contains(err.Error(), "no function runner") {
		t.Errorf("MapValues without a function runner = %v, want an error saying so", err)
	}
}

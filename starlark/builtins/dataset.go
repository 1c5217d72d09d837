package builtins

import (
	"fmt"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// Dataset is the value dataset(uri), Dataset(uri) and Asset(name, uri)
// return: a logical piece of data that tasks update (outlets) and DAGs are
// scheduled on (schedule), as Airflow's Dataset (Asset in Airflow 3). Two
// datasets with the same URI are equal, whatever their name or extra.
type Dataset struct {
	uri  string
	name string
	// extra is the frozen extra= dict of the definition (nil: none).
	extra *starlark.Dict
}

var (
	_ starlark.HasAttrs   = Dataset{}
	_ starlark.Comparable = Dataset{}
	_ starlark.HasBinary  = Dataset{}
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

// Attr returns uri, name (the URI when none was given) and extra.
func (d Dataset) Attr(name string) (starlark.Value, error) {
	switch name {
	case "uri":
		return starlark.String(d.uri), nil
	case "name":
		if d.name == "" {
			return starlark.String(d.uri), nil
		}
		return starlark.String(d.name), nil
	case "extra":
		if d.extra == nil {
			e := new(starlark.Dict)
			e.Freeze()
			return e, nil
		}
		return d.extra, nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (d Dataset) AttrNames() []string { return []string{"extra", "name", "uri"} }

// Binary implements d | x and d & x (Airflow's conditional dataset
// expressions).
func (d Dataset) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	return combineDatasets(d, op, y, side)
}

// datasetFn implements dataset(uri, extra=None) and Dataset(uri,
// extra=None), Airflow 2's Dataset.
func datasetFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var uri string
	var extra *starlark.Dict
	if err := unpack(fn.Name(), args, kwargs, 1, "uri", &uri, "extra?", &extra); err != nil {
		return nil, err
	}
	if err := dags.CheckDatasetURI(uri); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	if extra != nil {
		extra.Freeze()
	}
	return Dataset{uri: uri, extra: extra}, nil
}

// assetFn implements Asset(name=None, uri=None, group=None, extra=None,
// watchers=None), Airflow 3's Asset: name and URI each default to the
// other, as in Airflow.
func assetFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, uri, group string
	var extra *starlark.Dict
	var watchers starlark.Value = starlark.None
	if err := unpack(fn.Name(), args, kwargs, 2, "name?", &name, "uri?", &uri, "group?", &group, "extra?", &extra, "watchers?", &watchers); err != nil {
		return nil, err
	}
	if watchers != starlark.None {
		return nil, fmt.Errorf("Asset: watchers are not supported: Starflow has no triggerer to watch an external system; let a task of a scheduled DAG (a sensor) update the asset instead")
	}
	switch {
	case name == "" && uri == "":
		return nil, fmt.Errorf("Asset: give a name or a uri (or both)")
	case uri == "":
		uri = name
	case name == "":
		name = uri
	}
	if err := dags.CheckDatasetURI(uri); err != nil {
		return nil, fmt.Errorf("Asset: %w", err)
	}
	if extra != nil {
		extra.Freeze()
	}
	return Dataset{uri: uri, name: name, extra: extra}, nil
}

// DatasetCondition is a combination of datasets: Airflow's DatasetAll
// (AssetAll, `a & b`) or DatasetAny (AssetAny, `a | b`). A DAG scheduled on
// it runs when it holds for the datasets updated since its previous
// dataset-triggered run.
type DatasetCondition struct {
	op    dags.DatasetOp
	parts []starlark.Value // Dataset or DatasetCondition
}

var _ starlark.HasBinary = DatasetCondition{}

// String returns the condition as written: (dataset("a") | dataset("b")).
func (c DatasetCondition) String() string {
	sep := " & "
	if c.op == dags.DatasetAny {
		sep = " | "
	}
	parts := make([]string, len(c.parts))
	for i, p := range c.parts {
		parts[i] = p.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// Type returns "dataset_all" or "dataset_any".
func (c DatasetCondition) Type() string { return "dataset_" + string(c.op) }

// Freeze does nothing: a condition is immutable.
func (c DatasetCondition) Freeze() {}

// Truth returns True.
func (c DatasetCondition) Truth() starlark.Bool { return starlark.True }

// Hash fails: conditions are not hashable, as in Airflow.
func (c DatasetCondition) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: %s", c.Type())
}

// Binary implements c | x and c & x.
func (c DatasetCondition) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	return combineDatasets(c, op, y, side)
}

// cond returns the dags form of the condition.
func (c DatasetCondition) cond() dags.DatasetCond {
	out := dags.DatasetCond{Op: c.op}
	for _, p := range c.parts {
		out.Of = append(out.Of, condOf(p))
	}
	return out
}

// condOf returns the dags form of a Dataset or DatasetCondition.
func condOf(v starlark.Value) dags.DatasetCond {
	if d, ok := v.(Dataset); ok {
		return dags.DatasetLeaf(d.uri)
	}
	return v.(DatasetCondition).cond()
}

// isDatasetLike tells a Dataset or a DatasetCondition.
func isDatasetLike(v starlark.Value) bool {
	switch v.(type) {
	case Dataset, DatasetCondition:
		return true
	}
	return false
}

// combineDatasets implements | and & between datasets and conditions. As
// in Airflow, a chain of the same operator makes one flat condition
// (a | b | c is one "any" of three).
func combineDatasets(x starlark.Value, op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	var kind dags.DatasetOp
	switch op {
	case syntax.PIPE:
		kind = dags.DatasetAny
	case syntax.AMP:
		kind = dags.DatasetAll
	default:
		return nil, nil
	}
	if !isDatasetLike(y) {
		return nil, nil
	}
	l, r := x, y
	if side == starlark.Right {
		l, r = y, x
	}
	var parts []starlark.Value
	if c, ok := l.(DatasetCondition); ok && c.op == kind {
		parts = append(parts, c.parts...)
	} else {
		parts = append(parts, l)
	}
	parts = append(parts, r)
	return DatasetCondition{op: kind, parts: parts}, nil
}

// datasetAllFn and datasetAnyFn implement DatasetAll(*datasets) and
// DatasetAny(*datasets) (AssetAll, AssetAny).
func datasetAllFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return datasetCombination(fn, dags.DatasetAll, args, kwargs)
}

func datasetAnyFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return datasetCombination(fn, dags.DatasetAny, args, kwargs)
}

func datasetCombination(fn *starlark.Builtin, op dags.DatasetOp, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: takes datasets as positional arguments only, got keyword %s", fn.Name(), kwargs[0][0])
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: give at least one dataset", fn.Name())
	}
	for i, a := range args {
		if !isDatasetLike(a) {
			return nil, fmt.Errorf("%s: argument %d: got %s, want a dataset or a condition of datasets", fn.Name(), i+1, a.Type())
		}
	}
	return DatasetCondition{op: op, parts: append([]starlark.Value(nil), args...)}, nil
}

// Timetable is a schedule written as an Airflow timetable object:
// CronTriggerTimetable(...) or DatasetOrTimeSchedule(...)
// (AssetOrTimeSchedule). dag(schedule=...) takes it as it takes a string.
type Timetable struct {
	kind     string
	schedule dags.Schedule
	// timezone is the timetable's own timezone name ("" when none was
	// given); dag() makes it the DAG's.
	timezone string
}

// String returns the kind and the schedule.
func (t Timetable) String() string { return fmt.Sprintf("%s(%s)", t.kind, t.schedule) }

// Type returns "timetable".
func (t Timetable) Type() string { return "timetable" }

// Freeze does nothing: a timetable is immutable.
func (t Timetable) Freeze() {}

// Truth returns True.
func (t Timetable) Truth() starlark.Bool { return starlark.True }

// Hash fails: timetables are not hashable.
func (t Timetable) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: timetable") }

// cronTriggerTimetableFn implements CronTriggerTimetable(cron, timezone=None,
// interval=None). Starflow evaluates the cron expression as every cron
// schedule (see docs/authoring.md): runs start at the same times as
// Airflow's, with Airflow 2's data interval.
func cronTriggerTimetableFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var expr, tz string
	var interval starlark.Value = starlark.None
	if err := unpack(fn.Name(), args, kwargs, 1, "cron", &expr, "timezone?", &tz, "interval?", &interval); err != nil {
		return nil, err
	}
	if interval != starlark.None {
		d, err := durationOf(interval)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter interval: %w", fn.Name(), err)
		}
		if d != 0 {
			return nil, fmt.Errorf("%s: interval is not supported: a cron schedule's data interval runs from one tick to the next in Starflow", fn.Name())
		}
	}
	s, err := dags.ParseSchedule(expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	if s.Kind != dags.ScheduleCron {
		return nil, fmt.Errorf("%s: got %q, want a cron expression or a preset such as \"@daily\"", fn.Name(), expr)
	}
	if tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			return nil, fmt.Errorf("%s: unknown timezone %q (write an IANA name such as \"UTC\")", fn.Name(), tz)
		}
	}
	return Timetable{kind: fn.Name(), schedule: s, timezone: tz}, nil
}

// datasetOrTimeScheduleFn implements DatasetOrTimeSchedule(timetable,
// datasets) and AssetOrTimeSchedule(timetable, assets): runs as timetable
// makes them, and a dataset-triggered run whenever the datasets (a list:
// all of them; or a condition) were updated.
func datasetOrTimeScheduleFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timetable, sets starlark.Value
	param := "datasets"
	if fn.Name() == "AssetOrTimeSchedule" {
		param = "assets"
	}
	if err := unpack(fn.Name(), args, kwargs, 0, "timetable", &timetable, param, &sets); err != nil {
		return nil, err
	}
	cond, err := datasetCondOf(sets)
	if err != nil {
		return nil, fmt.Errorf("%s: for parameter %s: %w", fn.Name(), param, err)
	}
	var tt Timetable
	switch v := timetable.(type) {
	case Timetable:
		tt = v
	case starlark.String, Duration:
		sch, err := scheduleOf(v)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter timetable: %w", fn.Name(), err)
		}
		tt = Timetable{schedule: sch}
	default:
		return nil, fmt.Errorf("%s: for parameter timetable: got %s, want CronTriggerTimetable(...) or a cron expression", fn.Name(), timetable.Type())
	}
	s, err := dags.DatasetOrTimeSchedule(cond, tt.schedule)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return Timetable{kind: fn.Name(), schedule: s, timezone: tt.timezone}, nil
}

// datasetCondOf reads what a DAG can be scheduled on: a dataset, a
// condition, or a list of them (all must be updated).
func datasetCondOf(v starlark.Value) (dags.DatasetCond, error) {
	if isDatasetLike(v) {
		return condOf(v), nil
	}
	elems, ok := asList(v)
	if !ok {
		return dags.DatasetCond{}, fmt.Errorf("got %s, want a list of datasets, a dataset or a condition such as a | b", v.Type())
	}
	if len(elems) == 0 {
		return dags.DatasetCond{}, fmt.Errorf("an empty list of datasets never triggers a run: write None for manual runs only")
	}
	out := dags.DatasetCond{Op: dags.DatasetAll}
	for i, e := range elems {
		if !isDatasetLike(e) {
			if s, str := e.(starlark.String); str {
				return dags.DatasetCond{}, fmt.Errorf("item %d: got string, want dataset: write dataset(%q)", i, string(s))
			}
			return dags.DatasetCond{}, fmt.Errorf("item %d: got %s, want dataset", i, e.Type())
		}
		out.Of = append(out.Of, condOf(e))
	}
	return out, nil
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

// Name returns the dataset's name: the one given to Asset, else the URI.
func (d Dataset) Name() string {
	if d.name == "" {
		return d.uri
	}
	return d.name
}

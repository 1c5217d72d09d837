package call

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/builtins"
)

// This file is the task context's view of datasets, as Airflow's:
// outlet_events[asset].extra sets the extra of the event an outlet gets
// when the try succeeds, inlet_events[asset] lists the events of an inlet,
// and triggering_asset_events (triggering_dataset_events) the events that
// made a dataset-triggered run.

// datasetKey reads the key of outlet_events, inlet_events or
// triggering_asset_events: a dataset (Asset, Dataset) or, where allowed,
// its URI.
func datasetKey(what string, k starlark.Value, strings bool) (string, error) {
	switch k := k.(type) {
	case builtins.Dataset:
		return k.URI(), nil
	case starlark.String:
		if strings {
			return string(k), nil
		}
		return "", fmt.Errorf("%s: got string %s, want an Asset or Dataset: write Asset(%s)", what, k, k)
	}
	return "", fmt.Errorf("%s: got %s, want an Asset or Dataset", what, k.Type())
}

// outletEvents is ctx.outlet_events: one accessor per outlet, made on
// first use; their extras are handed to Call.Datasets when the function
// returns without error.
type outletEvents struct {
	tc        *taskContext
	accessors map[string]*outletEventAccessor
}

var _ starlark.Mapping = (*outletEvents)(nil)

func (o *outletEvents) String() string        { return "<outlet_events>" }
func (o *outletEvents) Type() string          { return "outlet_events" }
func (o *outletEvents) Freeze()               {}
func (o *outletEvents) Truth() starlark.Bool  { return starlark.True }
func (o *outletEvents) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: outlet_events") }

// Get returns the accessor of an outlet of the task.
func (o *outletEvents) Get(k starlark.Value) (starlark.Value, bool, error) {
	uri, err := datasetKey("outlet_events", k, false)
	if err != nil {
		return nil, false, err
	}
	if t := o.tc.call.Task; t == nil || !slices.Contains(t.Outlets, uri) {
		return nil, false, fmt.Errorf("outlet_events: %s is not an outlet of this task: add it to the task's outlets", uri)
	}
	if a, ok := o.accessors[uri]; ok {
		return a, true, nil
	}
	a := &outletEventAccessor{uri: uri}
	o.accessors[uri] = a
	return a, true, nil
}

// flush hands the extras set to Call.Datasets.
func (o *outletEvents) flush(ctx context.Context) error {
	if o == nil {
		return nil
	}
	uris := make([]string, 0, len(o.accessors))
	for u := range o.accessors {
		uris = append(uris, u)
	}
	sort.Strings(uris)
	for _, u := range uris {
		a := o.accessors[u]
		if a.extra == nil {
			continue
		}
		v, err := builtins.ToGo(a.extra)
		if err != nil {
			return fmt.Errorf("outlet_events[%s].extra: %w", u, err)
		}
		m, _ := v.(map[string]any)
		if o.tc.call.Datasets == nil {
			return fmt.Errorf("outlet_events[%s].extra: no dataset events are recorded here", u)
		}
		if err := o.tc.call.Datasets.SetExtra(ctx, u, m); err != nil {
			return fmt.Errorf("outlet_events[%s].extra: %w", u, err)
		}
	}
	return nil
}

// outletEventAccessor is outlet_events[asset]: its extra is a dict the
// function fills or replaces.
type outletEventAccessor struct {
	uri   string
	extra *starlark.Dict
}

var _ starlark.HasSetField = (*outletEventAccessor)(nil)

func (a *outletEventAccessor) String() string       { return fmt.Sprintf("<outlet_event %s>", a.uri) }
func (a *outletEventAccessor) Type() string         { return "outlet_event_accessor" }
func (a *outletEventAccessor) Freeze()              {}
func (a *outletEventAccessor) Truth() starlark.Bool { return starlark.True }
func (a *outletEventAccessor) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable: outlet_event_accessor")
}
func (a *outletEventAccessor) AttrNames() []string { return []string{"extra"} }

// Attr returns extra, an empty dict until set.
func (a *outletEventAccessor) Attr(name string) (starlark.Value, error) {
	if name != "extra" {
		return nil, nil
	}
	if a.extra == nil {
		a.extra = new(starlark.Dict)
	}
	return a.extra, nil
}

// SetField sets extra to a dict.
func (a *outletEventAccessor) SetField(name string, v starlark.Value) error {
	if name != "extra" {
		return starlark.NoSuchAttrError(fmt.Sprintf("outlet_event_accessor has no attribute %s (it has extra)", name))
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("outlet_events[%s].extra: got %s, want a dict", a.uri, v.Type())
	}
	a.extra = d
	return nil
}

// eventList converts events to a list of structs with Airflow's field
// names (uri, extra, timestamp, source_dag_id, ...; asset and dataset
// with the URI).
func eventList(evs []operators.DatasetEvent) (*starlark.List, error) {
	out := make([]starlark.Value, 0, len(evs))
	for _, e := range evs {
		extra, err := builtins.FromGo(orEmpty(e.Extra))
		if err != nil {
			return nil, fmt.Errorf("extra of event %d: %w", e.ID, err)
		}
		asset := starlarkstruct.FromStringDict(starlark.String("asset"), starlark.StringDict{
			"uri": starlark.String(e.URI), "name": starlark.String(e.URI),
		})
		out = append(out, starlarkstruct.FromStringDict(starlark.String("asset_event"), starlark.StringDict{
			"id":               starlark.MakeInt64(e.ID),
			"uri":              starlark.String(e.URI),
			"asset":            asset,
			"dataset":          asset,
			"extra":            extra,
			"timestamp":        dateTimeOrNone(e.Timestamp),
			"source_dag_id":    starlark.String(e.SourceDagID),
			"source_run_id":    starlark.String(e.SourceRunID),
			"source_task_id":   starlark.String(e.SourceTaskID),
			"source_map_index": starlark.MakeInt(e.SourceMapIndex),
		}))
	}
	return starlark.NewList(out), nil
}

// inletEvents is ctx.inlet_events: inlet_events[asset] (an inlet of the
// task, or its index among the inlets) is the list of the asset's events,
// oldest first, so [-1] is the newest.
type inletEvents struct {
	tc *taskContext
}

var (
	_ starlark.Mapping  = (*inletEvents)(nil)
	_ starlark.HasAttrs = (*inletEvents)(nil)
)

func (i *inletEvents) String() string        { return "<inlet_events>" }
func (i *inletEvents) Type() string          { return "inlet_events" }
func (i *inletEvents) Freeze()               {}
func (i *inletEvents) Truth() starlark.Bool  { return starlark.True }
func (i *inletEvents) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: inlet_events") }
func (i *inletEvents) AttrNames() []string   { return []string{"for_asset", "for_dataset"} }

// Attr returns for_asset(uri=None, name=None) (for_dataset too), which
// reads an inlet by URI or name.
func (i *inletEvents) Attr(name string) (starlark.Value, error) {
	if name != "for_asset" && name != "for_dataset" {
		return nil, nil
	}
	return builtins.Safe(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var uri, aname string
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "uri?", &uri, "name?", &aname); err != nil {
			return nil, err
		}
		if uri == "" {
			uri = aname
		}
		if uri == "" {
			return nil, fmt.Errorf("%s: give uri or name", fn.Name())
		}
		return i.events(uri)
	}), nil
}

// Get returns the events of an inlet.
func (i *inletEvents) Get(k starlark.Value) (starlark.Value, bool, error) {
	var inlets []string
	if t := i.tc.call.Task; t != nil {
		inlets = t.Inlets
	}
	if n, ok := k.(starlark.Int); ok {
		idx, ok := n.Int64()
		if !ok || idx < 0 || int(idx) >= len(inlets) {
			return nil, false, fmt.Errorf("inlet_events[%s]: the task has %d inlets", n, len(inlets))
		}
		v, err := i.events(inlets[idx])
		return v, err == nil, err
	}
	uri, err := datasetKey("inlet_events", k, false)
	if err != nil {
		return nil, false, err
	}
	if !slices.Contains(inlets, uri) {
		return nil, false, fmt.Errorf("inlet_events: %s is not an inlet of this task: add it to the task's inlets", uri)
	}
	v, err := i.events(uri)
	return v, err == nil, err
}

func (i *inletEvents) events(uri string) (starlark.Value, error) {
	ds := i.tc.call.Datasets
	if ds == nil {
		return starlark.NewList(nil), nil
	}
	evs, err := ds.Events(i.tc.ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("inlet_events[%s]: %w", uri, err)
	}
	return eventList(evs)
}

// triggeringEvents is ctx.triggering_asset_events
// (triggering_dataset_events): the events that made a dataset-triggered
// run, by dataset (an Asset, a Dataset or its URI); empty for other runs.
type triggeringEvents struct {
	uris   []string
	events map[string]*starlark.List
}

var (
	_ starlark.IterableMapping = (*triggeringEvents)(nil)
	_ starlark.Sequence        = (*triggeringEvents)(nil)
	_ starlark.HasAttrs        = (*triggeringEvents)(nil)
)

func newTriggeringEvents(tc *taskContext) (*triggeringEvents, error) {
	out := &triggeringEvents{events: map[string]*starlark.List{}}
	if tc.call.Datasets == nil {
		return out, nil
	}
	m, err := tc.call.Datasets.Triggering(tc.ctx)
	if err != nil {
		return nil, fmt.Errorf("triggering_asset_events: %w", err)
	}
	for u, evs := range m {
		l, err := eventList(evs)
		if err != nil {
			return nil, fmt.Errorf("triggering_asset_events: %w", err)
		}
		l.Freeze()
		out.uris = append(out.uris, u)
		out.events[u] = l
	}
	sort.Strings(out.uris)
	return out, nil
}

func (e *triggeringEvents) String() string {
	return fmt.Sprintf("<triggering_asset_events %v>", e.uris)
}
func (e *triggeringEvents) Type() string         { return "triggering_asset_events" }
func (e *triggeringEvents) Freeze()              {}
func (e *triggeringEvents) Truth() starlark.Bool { return starlark.Bool(len(e.uris) > 0) }
func (e *triggeringEvents) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable: triggering_asset_events")
}
func (e *triggeringEvents) Len() int            { return len(e.uris) }
func (e *triggeringEvents) AttrNames() []string { return []string{"get", "items", "keys", "values"} }

// Iterate yields the URIs.
func (e *triggeringEvents) Iterate() starlark.Iterator {
	keys := make([]starlark.Value, len(e.uris))
	for i, u := range e.uris {
		keys[i] = starlark.String(u)
	}
	return starlark.Tuple(keys).Iterate()
}

// Items returns (URI, events) pairs.
func (e *triggeringEvents) Items() []starlark.Tuple {
	out := make([]starlark.Tuple, len(e.uris))
	for i, u := range e.uris {
		out[i] = starlark.Tuple{starlark.String(u), e.events[u]}
	}
	return out
}

// Get returns the events of a dataset, which must be among them.
func (e *triggeringEvents) Get(k starlark.Value) (starlark.Value, bool, error) {
	uri, err := datasetKey("triggering_asset_events", k, true)
	if err != nil {
		return nil, false, err
	}
	l, ok := e.events[uri]
	if !ok {
		return nil, false, nil
	}
	return l, true, nil
}

// Attr returns the dict methods get, items, keys and values.
func (e *triggeringEvents) Attr(name string) (starlark.Value, error) {
	switch name {
	case "items":
		return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			items := e.Items()
			out := make([]starlark.Value, len(items))
			for i, it := range items {
				out[i] = it
			}
			return starlark.NewList(out), nil
		}), nil
	case "keys":
		return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			out := make([]starlark.Value, len(e.uris))
			for i, u := range e.uris {
				out[i] = starlark.String(u)
			}
			return starlark.NewList(out), nil
		}), nil
	case "values":
		return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			out := make([]starlark.Value, len(e.uris))
			for i, u := range e.uris {
				out[i] = e.events[u]
			}
			return starlark.NewList(out), nil
		}), nil
	case "get":
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k starlark.Value
			var def starlark.Value = starlark.None
			if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &k, &def); err != nil {
				return nil, err
			}
			v, found, err := e.Get(k)
			if err != nil {
				return nil, err
			}
			if !found {
				return def, nil
			}
			return v, nil
		}), nil
	}
	return nil, nil
}

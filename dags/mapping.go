package dags

import "fmt"

// MaxMapLength bounds the task instances one mapped task expands into
// (Airflow's [core] max_map_length).
const MaxMapLength = 1024

// MapArg is one argument a mapped task is expanded over (Airflow's
// expand(name = value)). Value is a list, a dict (each item becomes a
// [key, value] pair, in key order) or an XComRef to another task's value,
// which must be a list or a dict at run time. A MapArg with an empty Name
// is Airflow's expand_kwargs: Value is a list (or an XComRef to one) of
// dicts, each item giving several arguments at once.
type MapArg struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// MappedGroup is a task group expanded over arguments (Airflow's
// MappedTaskGroup, `group(...).expand(...)`): every task in it runs once
// per combination of the group's arguments, with the same map indexes, and
// a task in it that is downstream of another task of the group depends
// only on the task instance of that task with the same map index.
type MappedGroup struct {
	// ID is the group id ("outer.inner").
	ID string
	// Expand are the arguments the group is expanded over, as a mapped
	// task's (a cross product when there are several).
	Expand []MapArg
}

// IsMapped reports whether the task is expanded into one task instance per
// combination of its mapped arguments (or of its mapped group's).
func (t *Task) IsMapped() bool { return len(t.Expand) > 0 || t.MapGroup != nil }

// mapArgs returns the arguments t's map indexes range over: its mapped
// group's, or its own.
func (t *Task) mapArgs() []MapArg {
	if t.MapGroup != nil {
		return t.MapGroup.Expand
	}
	return t.Expand
}

// SameMapGroup reports whether tasks a and b are in the same mapped task
// group: a task instance of one then goes with the task instance of the
// other with the same map index.
func SameMapGroup(a, b *Task) bool {
	return a != nil && b != nil && a.MapGroup != nil && b.MapGroup != nil && a.MapGroup.ID == b.MapGroup.ID
}

// XComResolver returns the value an XComRef stands for in a run.
type XComResolver func(ref XComRef) (any, error)

// XComPuller reads the value task taskID pushed under key in a run, and
// whether it pushed one.
type XComPuller func(taskID, key string) (any, bool, error)

// ResolveWith returns the XComResolver that reads references through pull:
// the key defaults to "return_value", and a value never pushed is an error.
func ResolveWith(pull XComPuller) XComResolver {
	return func(ref XComRef) (any, error) {
		key := ref.Key
		if key == "" {
			key = ReturnValueKey
		}
		v, ok, err := pull(ref.TaskID, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("task %s pushed no XCom %q to map over", ref.TaskID, key)
		}
		return v, nil
	}
}

// argSeq returns the lazy items a mapped argument ranges over.
func argSeq(a MapArg, resolve XComResolver, mapItem ItemMapper) (seq, error) {
	s, err := seqOf(a.Value, resolve, mapItem)
	if err != nil {
		name := a.Name
		if name == "" {
			name = "of expand_kwargs"
		}
		return nil, fmt.Errorf("mapped argument %s: %w", name, err)
	}
	return s, nil
}

// FromXCom reports whether the argument's items come from XComs at run
// time; literal items are templated as the task's other arguments are,
// those from XComs are not (as Airflow's expand_input marks them).
func (a MapArg) FromXCom() bool { return IsXComValue(a.Value) }

// TypeName names the type of a plain value as a DAG author knows it.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// MapLength returns how many task instances the mapped task t expands into:
// the product of the lengths of its mapped arguments (a cross product, as
// Airflow's expand with several arguments). It fails when a value is not a
// list or dict or the length exceeds MaxMapLength.
func MapLength(t *Task, resolve XComResolver) (int, error) {
	n := 1
	for _, a := range t.mapArgs() {
		items, err := argSeq(a, resolve, nil)
		if err != nil {
			return 0, err
		}
		n *= items.Len()
		if n > MaxMapLength {
			return 0, fmt.Errorf("task %s expands into more than %d task instances (max_map_length)", t.ID, MaxMapLength)
		}
	}
	return n, nil
}

// MapValues returns the values of t's mapped arguments for map index i:
// index i enumerates the cross product with the last argument varying
// fastest.
func MapValues(t *Task, i int, resolve XComResolver) (map[string]any, error) {
	return MapValuesWith(t, i, resolve, nil)
}

// ItemMapper applies one map function of a mapped argument (XComRef.MapFns)
// to one item.
type ItemMapper func(fnKey string, item any) (any, error)

// MapValuesWith is MapValues with the items of arguments that map over
// `t.output.map(fn)` passed through mapItem first.
//
// A task of a mapped task group has no mapped arguments of its own: its
// values are empty (GroupValues gives the group's).
func MapValuesWith(t *Task, i int, resolve XComResolver, mapItem ItemMapper) (map[string]any, error) {
	if t.MapGroup != nil {
		return map[string]any{}, nil
	}
	return mapValues(t.ID, t.Expand, i, resolve, mapItem)
}

// GroupValues returns the values of the arguments of t's mapped task group
// for map index i (nil when t is in none).
func GroupValues(t *Task, i int, resolve XComResolver, mapItem ItemMapper) (map[string]any, error) {
	if t.MapGroup == nil {
		return nil, nil
	}
	return mapValues(t.ID, t.MapGroup.Expand, i, resolve, mapItem)
}

// mapValues returns the values of the mapped arguments args of task id for
// map index i.
func mapValues(id string, args []MapArg, i int, resolve XComResolver, mapItem ItemMapper) (map[string]any, error) {
	seqs := make([]seq, len(args))
	n := 1
	for j, a := range args {
		items, err := argSeq(a, resolve, mapItem)
		if err != nil {
			return nil, err
		}
		seqs[j] = items
		n *= items.Len()
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("task %s: map index %d out of range (it expands into %d)", id, i, n)
	}
	out := make(map[string]any, len(seqs))
	for j := len(seqs) - 1; j >= 0; j-- {
		k := seqs[j].Len()
		at := i % k
		i /= k
		item, err := seqs[j].At(at)
		if err != nil {
			return nil, fmt.Errorf("mapped argument %s: %w", args[j].Name, err)
		}
		if args[j].Name != "" {
			out[args[j].Name] = item
			continue
		}
		kw, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expand_kwargs: item %d is a %s, want a dict of arguments", at, TypeName(item))
		}
		for name, v := range kw {
			out[name] = v
		}
	}
	return out, nil
}

// CheckMappable reports whether v, the value a task pushed, can feed a
// mapped task (a list or dict of at most MaxMapLength items), as Airflow
// checks when the upstream task pushes it.
func CheckMappable(v any) error {
	switch v := v.(type) {
	case []any:
		if len(v) > MaxMapLength {
			return fmt.Errorf("a mapped task expands over this value, which has %d items (max_map_length is %d)", len(v), MaxMapLength)
		}
		return nil
	case map[string]any:
		if len(v) > MaxMapLength {
			return fmt.Errorf("a mapped task expands over this value, which has %d items (max_map_length is %d)", len(v), MaxMapLength)
		}
		return nil
	case nil:
		return fmt.Errorf("a mapped task expands over this task's return value, but it returned None")
	default:
		return fmt.Errorf("a mapped task expands over this task's return value, which is a %s: return a list or a dict", TypeName(v))
	}
}

// FeedsMapping reports whether a mapped task downstream of t expands over
// t's return value.
//
// A mapped t feeds it the list of its task instances' values (those that
// returned None left out), whatever each one returned: false.
func (d *DAG) FeedsMapping(t *Task) bool {
	if t.IsMapped() {
		return false
	}
	for _, id := range t.Downstream {
		down := d.tasks[id]
		if down == nil {
			continue
		}
		for _, a := range down.mapArgs() {
			for _, ref := range XComRefs(a.Value) {
				if ref.TaskID == t.ID && (ref.Key == "" || ref.Key == ReturnValueKey) {
					return true
				}
			}
		}
	}
	return false
}

package loader

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/starlark/builtins"
)

// rangeFn replaces the universal range at parse time with a range whose
// iteration counts against the step limit and stops at the time limit.
// Starlark counts the steps of a for loop, but builtins such as list(),
// sorted() or enumerate() consume a range in Go without any step, so
// list(range(1 << 30)) would otherwise allocate gigabytes in one step.
// On a thread without an evaluation (a task at run time) it is the
// ordinary range.
func rangeFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := starlark.Call(thread, starlark.Universe["range"], args, kwargs)
	if err != nil {
		return nil, err
	}
	ev, _ := thread.Local(limitsKey).(*evaluation)
	if ev == nil {
		return v, nil
	}
	r := v.(rangeValue)
	if r.Len() > ev.opts.MaxListLen {
		// Hide the length of a huge range: list(), tuple() and sorted()
		// allocate Len() elements up front, before any step is counted.
		return &hugeRange{meteredRange{r: r, ev: ev, thread: thread, cost: hugeRangeCost}}, nil
	}
	return &meteredRange{r: r, ev: ev, thread: thread, cost: 1}, nil
}

// hugeRangeCost is the steps each element of a huge range costs: enough
// that list(range(1 << 40)) stops after about 150,000 elements instead
// of building a list of MaxSteps elements, while a loop that breaks out
// early still works.
const hugeRangeCost = 64

// hugeRange is a range longer than Options.MaxListLen: it can be iterated
// (step by step, so a loop over it meets the step limit) and tested with
// "in", but it has no length and no index at parse time.
type hugeRange struct{ m meteredRange }

var (
	_ starlark.Iterable  = (*hugeRange)(nil)
	_ starlark.Container = (*hugeRange)(nil)
)

func (h *hugeRange) String() string                     { return h.m.String() }
func (h *hugeRange) Type() string                       { return h.m.Type() }
func (h *hugeRange) Freeze()                            {}
func (h *hugeRange) Truth() starlark.Bool               { return h.m.Truth() }
func (h *hugeRange) Hash() (uint32, error)              { return h.m.Hash() }
func (h *hugeRange) Has(y starlark.Value) (bool, error) { return h.m.Has(y) }
func (h *hugeRange) Iterate() starlark.Iterator         { return h.m.Iterate() }

// rangeValue is what Starlark's range returns.
type rangeValue interface {
	starlark.Indexable
	starlark.Sliceable
	starlark.Container
	starlark.Comparable
	starlark.Sequence
}

// meteredRange wraps a range created while a file is parsed.
type meteredRange struct {
	r      rangeValue
	ev     *evaluation
	thread *starlark.Thread
	cost   uint64 // steps per element
}

var (
	_ starlark.Indexable  = (*meteredRange)(nil)
	_ starlark.Sliceable  = (*meteredRange)(nil)
	_ starlark.Container  = (*meteredRange)(nil)
	_ starlark.Comparable = (*meteredRange)(nil)
	_ starlark.Sequence   = (*meteredRange)(nil)
)

func (m *meteredRange) String() string        { return m.r.String() }
func (m *meteredRange) Type() string          { return m.r.Type() }
func (m *meteredRange) Freeze()               {}
func (m *meteredRange) Truth() starlark.Bool  { return m.r.Truth() }
func (m *meteredRange) Hash() (uint32, error) { return m.r.Hash() }
func (m *meteredRange) Len() int              { return m.r.Len() }

func (m *meteredRange) Index(i int) starlark.Value         { return m.r.Index(i) }
func (m *meteredRange) Has(y starlark.Value) (bool, error) { return m.r.Has(y) }

func (m *meteredRange) Slice(start, end, step int) starlark.Value {
	return &meteredRange{r: m.r.Slice(start, end, step).(rangeValue), ev: m.ev, thread: m.thread, cost: m.cost}
}

func (m *meteredRange) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	other, ok := y.(*meteredRange)
	if !ok {
		return false, fmt.Errorf("cannot compare range with %s", y.Type())
	}
	return starlark.CompareDepth(op, m.r, other.r, depth)
}

func (m *meteredRange) Iterate() starlark.Iterator {
	return &meteredIterator{it: m.r.Iterate(), m: m}
}

// meteredIterator adds one step per element while the evaluation that
// made the range runs; afterwards (a frozen range iterated by a task at
// run time, on another thread) it is a plain iterator.
type meteredIterator struct {
	it starlark.Iterator
	m  *meteredRange
	n  int
}

func (it *meteredIterator) Next(p *starlark.Value) bool {
	ev := it.m.ev
	if !ev.finished.Load() {
		th := it.m.thread
		th.Steps += it.m.cost
		if th.Steps >= ev.opts.MaxSteps {
			ev.stepLimit.Store(true)
			th.Cancel("step limit")
			return false
		}
		if it.n++; it.n%1024 == 0 && (ev.timedOut.Load() || ev.parent.Err() != nil) {
			return false // the thread is cancelled already
		}
	}
	return it.it.Next(p)
}

func (it *meteredIterator) Done() { it.it.Done() }

// universeOverrides returns the builtins the loader replaces.
func universeOverrides() starlark.StringDict {
	return starlark.StringDict{
		"range": builtins.Safe("range", rangeFn),
		"str":   builtins.Safe("str", strFn),
		"repr":  builtins.Safe("repr", reprFn),
	}
}

package loader

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/starlark/builtins"
)

// limitsKey is the thread-local key of the *evaluation whose step and time
// limits the metered range applies. Threads without one (task functions at
// run time) get Starlark's own limits only.
const limitsKey = "starflow.loader.limits"

// budgetKey is the thread-local key of the *Budget that the size-checked
// operators and methods charge. A thread without one is not checked.
const budgetKey = "starflow.loader.budget"

// SizeError reports a value larger than the thread's memory budget allows.
// Its message starts with "memory limit:".
type SizeError struct{ Msg string }

func (e *SizeError) Error() string { return e.Msg }

// Budget bounds the memory that Starlark code may build on one thread:
// each string (bytes) and each list or tuple (elements), checked before the
// value is allocated, and the total of the large ones (64 KiB and more). A
// single step of Starlark can otherwise ask for terabytes ("x" * (1 << 22)
// then s.replace("x", s)), which no step limit catches and which kills the
// whole process. The loader gives each evaluation a budget from its
// Options; SetRuntimeBudget gives one to the thread of a task function.
type Budget struct {
	// MaxStringSize bounds each string or bytes value built by a checked
	// operation, in bytes.
	MaxStringSize int64
	// MaxListLen bounds each list or tuple built by a checked operation.
	MaxListLen int64
	// MaxAlloc bounds the total of the large values built; 0 is no bound.
	MaxAlloc int64
	// Who names the code in messages: "DAG files", "task functions".
	Who string

	allocated int64
}

// Defaults of RuntimeBudget, for task functions at run time: larger than a
// DAG file's, and without a total, since a task may build and drop many
// large values over a long run; the worker's heap watch covers the rest.
const (
	DefaultRuntimeMaxStringSize = 256 << 20
	DefaultRuntimeMaxListLen    = 16 << 20
)

// RuntimeBudget returns the budget of a task function's thread.
func RuntimeBudget() *Budget {
	return &Budget{MaxStringSize: DefaultRuntimeMaxStringSize, MaxListLen: DefaultRuntimeMaxListLen, Who: "task functions"}
}

// SetRuntimeBudget makes the size-checked operators of functions defined in
// DAG files charge b while they run on thread (a task function at run
// time).
func SetRuntimeBudget(thread *starlark.Thread, b *Budget) {
	thread.SetLocal(budgetKey, b)
}

// trackedSize is the size from which a created value counts against the
// evaluation's allocation budget; smaller values are left to the step limit.
const trackedSize = 64 << 10

// sizeOps returns the size-checked operators and methods the rewriter calls.
func sizeOps() starlark.StringDict {
	ops := starlark.StringDict{
		opAdd:  builtins.Safe(opAdd, addOp),
		opMul:  builtins.Safe(opMul, mulOp),
		opIAdd: builtins.Safe(opIAdd, iaddOp),
		opMod:  builtins.Safe(opMod, modOp),
	}
	for name, op := range methodOps {
		ops[op] = builtins.Safe(op, checkedMethod(name))
	}
	return ops
}

// budgetOf returns thread's budget, or nil.
func budgetOf(thread *starlark.Thread) *Budget {
	b, _ := thread.Local(budgetKey).(*Budget)
	return b
}

// charge checks that a value of n bytes or elements (kind names it) may be
// created on thread, and counts it against the budget.
func charge(thread *starlark.Thread, n int64, kind string) error {
	b := budgetOf(thread)
	if b == nil {
		return nil
	}
	limit := b.MaxStringSize
	switch {
	case kind == "int":
		// Multiplying big ints costs far more time than their size in
		// memory: a sixteenth of a string's limit (256 KiB for DAG
		// files, some 630,000 digits) is already a slow product.
		limit /= 16
	case !bytesKind(kind):
		limit = b.MaxListLen
	}
	if n > limit {
		return &SizeError{Msg: fmt.Sprintf("memory limit: %s of %d %s is larger than the limit of %d for %s", kind, n, unitOf(kind), limit, b.Who)}
	}
	bytes := n
	if !bytesKind(kind) {
		bytes *= 16 // a Starlark value in a list is an interface
	}
	if bytes >= trackedSize && b.MaxAlloc > 0 {
		b.allocated += bytes
		if b.allocated > b.MaxAlloc {
			return &SizeError{Msg: fmt.Sprintf("memory limit: %s build more than %d bytes of strings and lists", b.Who, b.MaxAlloc)}
		}
	}
	return nil
}

func unitOf(kind string) string {
	if bytesKind(kind) {
		return "bytes"
	}
	return "elements"
}

// bytesKind reports whether a kind of value is measured in bytes (and
// bounded by MaxStringSize) rather than in elements.
func bytesKind(kind string) bool { return kind == "string" || kind == "bytes" || kind == "int" }

// intBytes returns the bytes of the magnitude of x.
func intBytes(x starlark.Int) int64 {
	if _, ok := x.Int64(); ok {
		return 8
	}
	return int64(x.BigInt().BitLen()+7) / 8
}

// lengthOf returns the length and kind of a string, bytes, list or tuple.
func lengthOf(v starlark.Value) (int64, string, bool) {
	switch v := v.(type) {
	case starlark.String:
		return int64(len(v)), "string", true
	case starlark.Bytes:
		return int64(len(v)), "bytes", true
	case *starlark.List:
		return int64(v.Len()), "list", true
	case starlark.Tuple:
		return int64(len(v)), "tuple", true
	}
	return 0, "", false
}

// addOp is x + y with a size check.
func addOp(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if nx, kind, ok := lengthOf(x); ok {
		if ny, kind2, ok := lengthOf(y); ok && kind == kind2 {
			if err := charge(thread, nx+ny, kind); err != nil {
				return nil, err
			}
		}
	}
	return starlark.Binary(syntax.PLUS, x, y)
}

// mulOp is x * y with a size check.
func mulOp(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if ix, ok := x.(starlark.Int); ok {
		if iy, ok := y.(starlark.Int); ok {
			// A product has as many bytes as its factors together:
			// squaring an int 30 times asks for gigabytes.
			if n := intBytes(ix) + intBytes(iy); n > 1<<10 {
				if err := charge(thread, n, "int"); err != nil {
					return nil, err
				}
			}
			return starlark.Binary(syntax.STAR, x, y)
		}
	}
	seq, count := x, y
	if _, ok := x.(starlark.Int); ok {
		seq, count = y, x
	}
	if n, kind, ok := lengthOf(seq); ok && n > 0 {
		if k, ok := count.(starlark.Int); ok {
			times, exact := k.Int64()
			if !exact || times > (1<<62)/n {
				return nil, &SizeError{Msg: fmt.Sprintf("repeating a %s %s times is larger than the limit for DAG files", kind, k)}
			}
			if times > 0 {
				if err := charge(thread, n*times, kind); err != nil {
					return nil, err
				}
			}
		}
	}
	return starlark.Binary(syntax.STAR, x, y)
}

// iaddOp is x += y: it extends a list x in place, as Starlark does, and is
// x + y otherwise.
func iaddOp(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	list, ok := args[0].(*starlark.List)
	if !ok {
		return addOp(thread, b, args, kwargs)
	}
	iter, ok := args[1].(starlark.Iterable)
	if !ok {
		return starlark.Binary(syntax.PLUS, args[0], args[1])
	}
	var elems []starlark.Value
	if seq, ok := iter.(starlark.Sequence); ok {
		// A sized operand (s += s) is judged before anything is copied.
		if n := int64(list.Len()) + int64(seq.Len()); n > int64(maxListLenOf(thread)) {
			return nil, charge(thread, n, "list")
		}
		elems = make([]starlark.Value, 0, seq.Len())
	}
	it := iter.Iterate()
	var x starlark.Value
	for it.Next(&x) {
		elems = append(elems, x)
		if int64(list.Len()+len(elems)) > int64(maxListLenOf(thread)) {
			break
		}
	}
	it.Done()
	if err := charge(thread, int64(list.Len()+len(elems)), "list"); err != nil {
		return nil, err
	}
	for _, e := range elems {
		if err := list.Append(e); err != nil {
			return nil, fmt.Errorf("cannot apply += to %s", strings.TrimPrefix(err.Error(), "cannot append to "))
		}
	}
	return list, nil
}

// maxListLenOf returns the list-length limit of thread's evaluation, or a
// large number when there is none.
func maxListLenOf(thread *starlark.Thread) int {
	if b := budgetOf(thread); b != nil {
		return int(b.MaxListLen)
	}
	return 1 << 40
}

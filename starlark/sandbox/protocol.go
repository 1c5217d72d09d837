package sandbox

import (
	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// request is one line the parent writes to a child's standard input.
type request struct {
	ID int64 `json:"id"`
	loader.CheckRequest
}

// reply is one line a child writes to its standard output: progress (Pos
// only), the end of an evaluation (Done), or its own death for lack of
// memory (Memory).
type reply struct {
	ID     int64     `json:"id"`
	Pos    *dags.Pos `json:"pos,omitempty"`
	Done   bool      `json:"done,omitempty"`
	Memory bool      `json:"memory,omitempty"`
	Heap   int64     `json:"heap,omitempty"`
	// Result is the outcome of a file that defines no DAG (Done only).
	Result *loader.CheckResult `json:"result,omitempty"`
}

package sandbox

import (
	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// The protocol: the parent writes one JSON request per line on a child's
// standard input, the child one JSON reply per line on its standard
// output. A request evaluates a file (CheckRequest) or calls a task
// function (Call); while a function runs, the child asks the parent for
// what only the worker has, in the shape of operators/python's channel,
// and the parent answers on standard input:
//
//	{"id": 7, "op": {"op": "xcom_pull", "task_id": "t", "key": "k"}} -> {"id": 7, "answer": {"found": true, "value": ...}}
//	{"id": 7, "op": {"op": "xcom_push", "key": "k", "value": ...}}   -> {"id": 7, "answer": {}}
//	{"id": 7, "op": {"op": "variable", "key": "k"}}                  -> {"id": 7, "answer": {"found": true, "value": "v"}}
//	{"id": 7, "op": {"op": "connection", "conn_id": "c"}}            -> {"id": 7, "answer": {"found": true, "conn": {...}}}
//	{"id": 7, "op": {"op": "dataset_events", "key": "s3://a"}}       -> {"id": 7, "answer": {"events": [...]}}
//	{"id": 7, "op": {"op": "triggering_events"}}                     -> {"id": 7, "answer": {"triggering": {"s3://a": [...]}}}
//	{"id": 7, "op": {"op": "outlet_extra", "key": "s3://a", "value": {...}}} -> {"id": 7, "answer": {}}
//	{"id": 7, "log": "a line\n"}                                     (no answer)
//
// Any answer may be {"error": "..."}. Numbers keep their kind: a float
// is written with a decimal point (wireValue) and both sides decode with
// json.Decoder.UseNumber and store.PlainNumbers.

// request is one line the parent writes to a child's standard input.
type request struct {
	ID int64 `json:"id"`
	loader.CheckRequest
	// Call, when set, calls a task function instead of evaluating a file.
	Call *callRequest `json:"call,omitempty"`
	// Answer answers the child's Op of the call ID.
	Answer *answer `json:"answer,omitempty"`
}

// callRequest is one call of a task function: the DAG version (its
// sources only when the child may not have it yet), the function's key
// and arguments, and the task instance its context describes.
type callRequest struct {
	Hash    string            `json:"hash"`
	Dir     string            `json:"dir,omitempty"`
	Path    string            `json:"path"`
	Sources map[string]string `json:"sources,omitempty"`

	Key    string         `json:"key"`
	Args   []any          `json:"args,omitempty"`
	Kwargs map[string]any `json:"kwargs,omitempty"`

	DAGID     string            `json:"dag_id"`
	TaskID    string            `json:"task_id"`
	Run       operators.RunInfo `json:"run"`
	MapIndex  int               `json:"map_index"`
	TryNumber int               `json:"try_number"`
	Params    map[string]any    `json:"params,omitempty"`
	State     dags.TaskState    `json:"state,omitempty"`
	Exception string            `json:"exception,omitempty"`
	XComs     bool              `json:"xcoms,omitempty"`
	Vars      bool              `json:"vars,omitempty"`
	Conns     bool              `json:"conns,omitempty"`
	// Datasets tells that the call reaches dataset events; Outlets and
	// Inlets are the task's.
	Datasets bool     `json:"datasets,omitempty"`
	Outlets  []string `json:"outlets,omitempty"`
	Inlets   []string `json:"inlets,omitempty"`
}

// hostRequest is what a task function asks the worker for.
type hostRequest struct {
	Op     string  `json:"op"`
	Key    *string `json:"key,omitempty"`
	TaskID string  `json:"task_id,omitempty"`
	ConnID string  `json:"conn_id,omitempty"`
	Value  any     `json:"value,omitempty"`
}

// answer is the worker's answer to a hostRequest.
type answer struct {
	Found bool                  `json:"found,omitempty"`
	Value any                   `json:"value,omitempty"`
	Conn  *operators.Connection `json:"conn,omitempty"`
	Error string                `json:"error,omitempty"`
	// Events and Triggering answer dataset_events and triggering_events.
	Events     []operators.DatasetEvent            `json:"events,omitempty"`
	Triggering map[string][]operators.DatasetEvent `json:"triggering,omitempty"`
}

// reply is one line a child writes to its standard output: progress (Pos
// only), the end of an evaluation or a call (Done), its own death for
// lack of memory (Memory), or, during a call, a request to the worker
// (Op) or a log line (Log).
type reply struct {
	ID     int64     `json:"id"`
	Pos    *dags.Pos `json:"pos,omitempty"`
	Done   bool      `json:"done,omitempty"`
	Memory bool      `json:"memory,omitempty"`
	Heap   int64     `json:"heap,omitempty"`
	// Result is the outcome of a file that defines no DAG (Done only).
	Result *loader.CheckResult `json:"result,omitempty"`

	Op  *hostRequest `json:"op,omitempty"`
	Log *string      `json:"log,omitempty"`
	// Need (Done) asks for the call again with the version's sources.
	Need bool `json:"need,omitempty"`
	// Value and Err are a call's result (Done).
	Value any    `json:"value,omitempty"`
	Err   string `json:"err,omitempty"`
}

package python

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// The channel is how the Python function reaches the worker while it
// runs: Variable.get, BaseHook.get_connection, ti.xcom_pull and
// ti.xcom_push send one
// JSON request per line on file descriptor 3 and read one JSON response
// per line on file descriptor 4. The worker answers from its own sources
// (the environment, then the store), one name at a time, so that the
// interpreter never sees a secret it did not ask for, and the values it
// reads pass through the worker's masker as they do for Starlark tasks.
//
//	{"op": "variable", "key": "k"}           -> {"found": true, "value": "v"}
//	{"op": "connection", "conn_id": "c"}     -> {"found": true, "value": {...}}
//	{"op": "xcom_pull", "task_id": "t", "key": "k"} -> {"found": true, "value": ...}
//	                 (key null: the XCom t pushed last, whatever its key)
//	{"op": "xcom_push", "key": "k", "value": ...}   -> {"found": true}
//	                 (stored at once, as Airflow's ti.xcom_push: it stays
//	                 when the function raises afterwards)
//
// Any request may be answered {"error": "..."}.

// channelRequest is one line the interpreter writes.
type channelRequest struct {
	Op     string  `json:"op"`
	Key    *string `json:"key"`
	ConnID string  `json:"conn_id"`
	TaskID string  `json:"task_id"`
	// Value is the value of an xcom_push.
	Value json.RawMessage `json:"value"`
}

// channelResponse is one line the worker writes back.
type channelResponse struct {
	Found bool   `json:"found"`
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
}

// maxRequest bounds one request line.
const maxRequest = 1 << 20

// channel is the worker's side of one interpreter's channel.
type channel struct {
	// childFiles are the interpreter's ends: its fds 3 (requests) and 4
	// (responses); subprocess.Run closes them once it has started.
	childFiles []*os.File
	req        *os.File // worker reads requests
	resp       *os.File // worker writes responses
	done       chan struct{}
}

// openChannel makes the two pipes of a channel.
func openChannel() (*channel, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("python: channel pipe: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("python: channel pipe: %w", err)
	}
	return &channel{childFiles: []*os.File{reqW, respR}, req: reqR, resp: respW, done: make(chan struct{})}, nil
}

// serve answers requests until the interpreter closes its end (it
// exited) or close is called.
func (ch *channel) serve(ctx context.Context, c *operators.Call) {
	defer close(ch.done)
	r := bufio.NewScanner(ch.req)
	r.Buffer(make([]byte, 0, 4096), maxRequest)
	w := bufio.NewWriter(ch.resp)
	for r.Scan() {
		var req channelRequest
		var out channelResponse
		if err := json.Unmarshal(r.Bytes(), &req); err != nil {
			out.Error = "unreadable request: " + err.Error()
		} else {
			out = answer(ctx, c, &req)
		}
		data, err := json.Marshal(out)
		if err != nil {
			data, _ = json.Marshal(channelResponse{Error: "the answer cannot be sent as JSON: " + err.Error()})
		}
		data = append(data, '\n')
		if _, err := w.Write(data); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// close ends serve, even when a process the interpreter started still
// holds its end of the pipe, and waits for it.
func (ch *channel) close() {
	ch.req.Close()
	<-ch.done
	ch.resp.Close()
}

// answer answers one request from the call's variables, connections and
// XComs.
func answer(ctx context.Context, c *operators.Call, req *channelRequest) channelResponse {
	switch req.Op {
	case "variable":
		if req.Key == nil {
			return channelResponse{Error: "variable: no key"}
		}
		if c.Variables == nil {
			return channelResponse{}
		}
		v, ok, err := c.Variables.Get(ctx, *req.Key)
		if err != nil {
			return channelResponse{Error: err.Error()}
		}
		return channelResponse{Found: ok, Value: v}
	case "connection":
		if c.Connections == nil {
			return channelResponse{}
		}
		cn, err := c.Connections.Get(ctx, req.ConnID)
		if err != nil {
			if errors.Is(err, operators.ErrNotFound) {
				return channelResponse{}
			}
			return channelResponse{Error: err.Error()}
		}
		if cn == nil {
			return channelResponse{}
		}
		return channelResponse{Found: true, Value: cn}
	case "xcom_pull":
		if c.XCom == nil {
			return channelResponse{}
		}
		var (
			v   any
			ok  bool
			err error
		)
		if req.Key == nil {
			latest, can := c.XCom.(operators.XComLatest)
			if !can {
				return channelResponse{Error: "xcom_pull(key=None) is not available here"}
			}
			v, ok, err = latest.PullLatest(ctx, req.TaskID)
		} else {
			v, ok, err = c.XCom.Pull(ctx, req.TaskID, *req.Key)
		}
		if err != nil {
			return channelResponse{Error: err.Error()}
		}
		return channelResponse{Found: ok, Value: v}
	case "xcom_push":
		if req.Key == nil || *req.Key == "" {
			return channelResponse{Error: "xcom_push: no key"}
		}
		if c.XCom == nil {
			return channelResponse{Error: "xcom_push: this runner stores no XComs"}
		}
		v, err := decodeValue(req.Value)
		if err != nil {
			return channelResponse{Error: "xcom_push: " + err.Error()}
		}
		if err := c.XCom.Push(ctx, *req.Key, v); err != nil {
			return channelResponse{Error: fmt.Sprintf("xcom_push %q: %v", *req.Key, err)}
		}
		return channelResponse{Found: true}
	}
	return channelResponse{Error: fmt.Sprintf("unknown request %q", req.Op)}
}

// decodeValue decodes a JSON value keeping integers as int64, as XComs
// returned by the function are kept.
func decodeValue(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("unreadable value: %w", err)
	}
	return store.PlainNumbers(v), nil
}

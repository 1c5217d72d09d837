package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// maxCachedFiles bounds the DAG versions a child keeps loaded; past it the
// cache starts again empty (the parent sends a version's sources again
// when the child asks for them).
const maxCachedFiles = 64

// call runs one task function and writes its result. An error is the
// parent's end of the pipe failing: the child ends.
func (s *server) call(ctx context.Context, l *loader.Loader, dec *json.Decoder, id int64, req *callRequest) error {
	file, ok := s.files[req.Hash]
	if !ok {
		if req.Sources == nil {
			return s.send(reply{ID: id, Done: true, Need: true})
		}
		file = l.Load(ctx, loader.BundleSource(req.Dir, req.Sources), req.Path)
		switch {
		case file.Hash != req.Hash:
			return s.send(reply{ID: id, Done: true, Err: fmt.Sprintf("%s: the sandbox process loaded version %.12s, not %.12s", file.Name, file.Hash, req.Hash)})
		case len(file.DAGs) == 0 && len(file.Errors) > 0:
			return s.send(reply{ID: id, Done: true, Err: file.Errors[0].Error()})
		}
		if len(s.files) >= maxCachedFiles {
			clear(s.files)
		}
		s.files[req.Hash] = file
	}
	h := &host{s: s, dec: dec, id: id}
	c := &operators.Call{
		DAG:       &dags.DAG{ID: req.DAGID, SourceHash: req.Hash},
		Task:      &dags.Task{ID: req.TaskID, Outlets: req.Outlets, Inlets: req.Inlets},
		Run:       req.Run,
		MapIndex:  req.MapIndex,
		TryNumber: req.TryNumber,
		Params:    plainMap(req.Params),
		State:     req.State,
		Exception: req.Exception,
		Log:       h,
	}
	c.Run.Conf = plainMap(c.Run.Conf)
	if req.XComs {
		c.XCom = h
	}
	if req.Vars {
		c.Variables = h
	}
	if req.Conns {
		c.Connections = conns{h}
	}
	if req.Datasets {
		c.Datasets = h
	}
	r := call.New(file)
	r.SQL = s.sql
	args := make([]any, len(req.Args))
	for i, a := range req.Args {
		args[i] = store.PlainNumbers(a)
	}
	res, err := r.CallFunction(ctx, c, req.Key, args, plainMap(req.Kwargs))
	if h.broken != nil {
		return h.broken
	}
	out := reply{ID: id, Done: true, Value: wireValue(res)}
	if err != nil {
		out.Value, out.Err = nil, err.Error()
	}
	return s.send(out)
}

// plainMap is store.PlainNumbers of a decoded map.
func plainMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return store.PlainNumbers(m).(map[string]any)
}

// host is what the task function of a child reaches the worker through:
// its XComs, variables, connections and log, one request at a time.
type host struct {
	s   *server
	dec *json.Decoder
	id  int64
	// broken is set when the parent's pipe failed mid-call.
	broken error
}

var (
	_ operators.XCom        = (*host)(nil)
	_ operators.XComLatest  = (*host)(nil)
	_ operators.Variables   = (*host)(nil)
	_ operators.Connections = conns{}
	_ operators.Datasets    = (*host)(nil)
)

// ask sends op and reads its answer.
func (h *host) ask(op hostRequest) (*answer, error) {
	if h.broken != nil {
		return nil, h.broken
	}
	if err := h.s.send(reply{ID: h.id, Op: &op}); err != nil {
		h.broken = err
		return nil, err
	}
	var req request
	if err := h.dec.Decode(&req); err != nil {
		h.broken = fmt.Errorf("read the answer to %s: %w", op.Op, err)
		return nil, h.broken
	}
	if req.ID != h.id || req.Answer == nil {
		h.broken = fmt.Errorf("%s: the parent sent something else than its answer", op.Op)
		return nil, h.broken
	}
	if req.Answer.Error != "" {
		return nil, errors.New(req.Answer.Error)
	}
	return req.Answer, nil
}

// Write sends a log line.
func (h *host) Write(p []byte) (int, error) {
	if h.broken != nil {
		return 0, h.broken
	}
	line := string(p)
	if err := h.s.send(reply{ID: h.id, Log: &line}); err != nil {
		h.broken = err
		return 0, err
	}
	return len(p), nil
}

// Pull implements operators.XCom.
func (h *host) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	a, err := h.ask(hostRequest{Op: "xcom_pull", TaskID: taskID, Key: &key})
	if err != nil {
		return nil, false, err
	}
	return store.PlainNumbers(a.Value), a.Found, nil
}

// PullLatest implements operators.XComLatest.
func (h *host) PullLatest(_ context.Context, taskID string) (any, bool, error) {
	a, err := h.ask(hostRequest{Op: "xcom_pull", TaskID: taskID})
	if err != nil {
		return nil, false, err
	}
	return store.PlainNumbers(a.Value), a.Found, nil
}

// Push implements operators.XCom.
func (h *host) Push(_ context.Context, key string, value any) error {
	_, err := h.ask(hostRequest{Op: "xcom_push", Key: &key, Value: wireValue(value)})
	return err
}

// Get implements operators.Variables.
func (h *host) Get(_ context.Context, name string) (string, bool, error) {
	a, err := h.ask(hostRequest{Op: "variable", Key: &name})
	if err != nil {
		return "", false, err
	}
	v, _ := a.Value.(string)
	return v, a.Found, nil
}

// conns adapts host to operators.Connections, whose Get has another
// signature than Variables'.
type conns struct{ h *host }

// Get implements operators.Connections.
func (c conns) Get(_ context.Context, connID string) (*operators.Connection, error) {
	a, err := c.h.ask(hostRequest{Op: "connection", ConnID: connID})
	if err != nil {
		return nil, err
	}
	if !a.Found || a.Conn == nil {
		return nil, fmt.Errorf("connection %q: %w", connID, operators.ErrNotFound)
	}
	a.Conn.Extra = plainMap(a.Conn.Extra)
	return a.Conn, nil
}

// Events implements operators.Datasets.
func (h *host) Events(_ context.Context, uri string) ([]operators.DatasetEvent, error) {
	a, err := h.ask(hostRequest{Op: "dataset_events", Key: &uri})
	if err != nil {
		return nil, err
	}
	return plainEvents(a.Events), nil
}

// Triggering implements operators.Datasets.
func (h *host) Triggering(context.Context) (map[string][]operators.DatasetEvent, error) {
	a, err := h.ask(hostRequest{Op: "triggering_events"})
	if err != nil {
		return nil, err
	}
	for u, evs := range a.Triggering {
		a.Triggering[u] = plainEvents(evs)
	}
	return a.Triggering, nil
}

// SetExtra implements operators.Datasets.
func (h *host) SetExtra(_ context.Context, uri string, extra map[string]any) error {
	_, err := h.ask(hostRequest{Op: "outlet_extra", Key: &uri, Value: wireMap(extra)})
	return err
}

// plainEvents turns the decoded numbers of events' extras into Go's.
func plainEvents(evs []operators.DatasetEvent) []operators.DatasetEvent {
	for i := range evs {
		evs[i].Extra = plainMap(evs[i].Extra)
	}
	return evs
}

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/starlark/call"
)

var _ call.Isolator = (*Pool)(nil)

// CallFunction runs a task function in a child: the child loads the DAG
// version (once per version and child), calls the function, and asks for
// XComs, variables and connections, and writes log lines, through the
// protocol, which this side answers from c. A child that runs out of
// memory ends the call with an error at the last position it reported
// (or where the function is defined) with "memory limit" in it; when ctx
// ends the child is killed. ran is false when no child could start: the
// runner calls the function in-process.
func (p *Pool) CallFunction(ctx context.Context, c *operators.Call, req call.IsolatedCall) (result any, ran bool, err error) {
	p.init()
	select {
	case p.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, true, fmt.Errorf("%s: %s was stopped: %w", req.DefinedAt, req.Name, context.Cause(ctx))
	}
	defer func() { <-p.slot }()

	f := req.File
	cr := &callRequest{
		Hash: f.Hash, Dir: f.Dir, Path: f.Path,
		Key: req.Key, Args: wireValue(req.Args).([]any), Kwargs: wireMap(req.Kwargs),
		Run: c.Run, MapIndex: c.MapIndex, TryNumber: c.TryNumber, Params: wireMap(c.Params),
		State: c.State, Exception: c.Exception,
		XComs: c.XCom != nil, Vars: c.Variables != nil, Conns: c.Connections != nil, Datasets: c.Datasets != nil,
	}
	cr.Run.Conf = wireMap(c.Run.Conf)
	if c.DAG != nil {
		cr.DAGID = c.DAG.ID
	}
	if c.Task != nil {
		cr.TaskID, cr.Outlets, cr.Inlets = c.Task.ID, c.Task.Outlets, c.Task.Inlets
	}
	for attempt := 0; attempt < 3; attempt++ {
		ch, err := p.get()
		if err != nil {
			p.Logger.Warn("cannot start a sandbox process; the task function runs in-process", "function", req.Key, "err", err)
			return nil, false, nil
		}
		cr.Sources = nil
		if !ch.known[f.Hash] {
			cr.Sources = f.Sources
		}
		ch.nextID++
		line, err := json.Marshal(request{ID: ch.nextID, Call: cr})
		if err != nil {
			p.put(ch)
			return nil, true, fmt.Errorf("%s: %s: its arguments cannot be sent to its sandbox process: %w", req.DefinedAt, req.Name, err)
		}
		if _, err := ch.stdin.Write(append(line, '\n')); err != nil {
			p.kill(ch) // it died while idle: start another
			continue
		}
		res, need, err := p.waitCall(ctx, ch, c, req)
		if need {
			delete(ch.known, f.Hash)
			continue
		}
		return res, true, err
	}
	return nil, false, nil
}

// waitCall serves the child's requests until its call ends, it dies, or
// ctx ends. need reports that the child asks for the version's sources.
func (p *Pool) waitCall(ctx context.Context, ch *child, c *operators.Call, req call.IsolatedCall) (res any, need bool, err error) {
	pos := req.DefinedAt
	for {
		select {
		case r, ok := <-ch.replies:
			if !ok {
				state := p.kill(ch)
				return nil, false, p.callDied(pos, req, ch, state)
			}
			if r.ID != ch.nextID {
				continue
			}
			if r.Pos != nil {
				pos = *r.Pos
			}
			switch {
			case r.Memory:
				p.kill(ch)
				return nil, false, fmt.Errorf("%s: memory limit: %s used more than %d MiB; its sandbox process was stopped",
					pos, req.Name, p.MemoryLimit*3/4>>20)
			case r.Log != nil:
				if c.Log != nil {
					_, _ = c.Log.Write([]byte(*r.Log))
				}
			case r.Op != nil:
				a := answerOp(ctx, c, r.Op)
				line, err := json.Marshal(request{ID: ch.nextID, Answer: &a})
				if err != nil {
					line, _ = json.Marshal(request{ID: ch.nextID, Answer: &answer{Error: "the answer cannot be sent: " + err.Error()}})
				}
				_, _ = ch.stdin.Write(append(line, '\n')) // a dead child ends the replies
			case r.Done:
				if r.Need {
					p.put(ch)
					return nil, true, nil
				}
				ch.known[req.File.Hash] = true
				p.put(ch)
				if r.Err != "" {
					return nil, false, errors.New(r.Err)
				}
				return store.PlainNumbers(r.Value), false, nil
			}
		case <-ctx.Done():
			p.kill(ch)
			return nil, false, fmt.Errorf("%s: %s was stopped: %w", pos, req.Name, context.Cause(ctx))
		}
	}
}

// callDied is the error of a child that died in the middle of a call.
func (p *Pool) callDied(pos dags.Pos, req call.IsolatedCall, ch *child, state string) error {
	last := ch.stderr.String()
	if i := strings.Index(last, "fatal error"); i >= 0 {
		last = last[i:]
	}
	p.Logger.Warn("a sandbox process died", "function", req.Key, "state", state, "stderr", firstLine(last))
	if strings.Contains(last, "panic:") && !strings.Contains(last, "out of memory") {
		return fmt.Errorf("%s: %s killed its sandbox process (%s): %s", pos, req.Name, state, firstLine(last))
	}
	return fmt.Errorf("%s: memory limit: %s needed more than the %d MiB its sandbox process may use; the process died (%s: %s)",
		pos, req.Name, p.MemoryLimit>>20, state, firstLine(last))
}

// answerOp answers one request of a task function from the call's
// XComs, variables and connections.
func answerOp(ctx context.Context, c *operators.Call, op *hostRequest) answer {
	switch op.Op {
	case "xcom_pull":
		if c.XCom == nil {
			return answer{Error: "no XCom store in this context"}
		}
		var (
			v     any
			found bool
			err   error
		)
		if op.Key == nil {
			latest, can := c.XCom.(operators.XComLatest)
			if !can {
				return answer{Error: "key=None (any key) is not available here"}
			}
			v, found, err = latest.PullLatest(ctx, op.TaskID)
		} else {
			v, found, err = c.XCom.Pull(ctx, op.TaskID, *op.Key)
		}
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{Found: found, Value: wireValue(v)}
	case "xcom_push":
		if c.XCom == nil || op.Key == nil {
			return answer{Error: "no XCom store in this context"}
		}
		if err := c.XCom.Push(ctx, *op.Key, store.PlainNumbers(op.Value)); err != nil {
			return answer{Error: err.Error()}
		}
		return answer{}
	case "variable":
		if c.Variables == nil || op.Key == nil {
			return answer{}
		}
		v, found, err := c.Variables.Get(ctx, *op.Key)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{Found: found, Value: v}
	case "connection":
		if c.Connections == nil {
			return answer{}
		}
		cn, err := c.Connections.Get(ctx, op.ConnID)
		if errors.Is(err, operators.ErrNotFound) || (err == nil && cn == nil) {
			return answer{}
		}
		if err != nil {
			return answer{Error: err.Error()}
		}
		out := *cn
		out.Extra = wireMap(cn.Extra)
		return answer{Found: true, Conn: &out}
	case "dataset_events", "triggering_events", "outlet_extra":
		return answerDatasets(ctx, c, op)
	}
	return answer{Error: fmt.Sprintf("unknown request %q", op.Op)}
}

// answerDatasets answers the dataset requests of a task function from
// c.Datasets.
func answerDatasets(ctx context.Context, c *operators.Call, op *hostRequest) answer {
	if c.Datasets == nil {
		return answer{Error: "no dataset events in this context"}
	}
	switch op.Op {
	case "dataset_events":
		if op.Key == nil {
			return answer{Error: "dataset_events: no URI"}
		}
		evs, err := c.Datasets.Events(ctx, *op.Key)
		if err != nil {
			return answer{Error: err.Error()}
		}
		return answer{Events: wireEvents(evs)}
	case "triggering_events":
		m, err := c.Datasets.Triggering(ctx)
		if err != nil {
			return answer{Error: err.Error()}
		}
		out := make(map[string][]operators.DatasetEvent, len(m))
		for u, evs := range m {
			out[u] = wireEvents(evs)
		}
		return answer{Triggering: out}
	default: // outlet_extra
		if op.Key == nil {
			return answer{Error: "outlet_extra: no URI"}
		}
		extra, _ := store.PlainNumbers(op.Value).(map[string]any)
		if err := c.Datasets.SetExtra(ctx, *op.Key, extra); err != nil {
			return answer{Error: err.Error()}
		}
		return answer{}
	}
}

// wireEvents returns evs with their extras ready for the wire.
func wireEvents(evs []operators.DatasetEvent) []operators.DatasetEvent {
	out := make([]operators.DatasetEvent, len(evs))
	for i, e := range evs {
		e.Extra = wireMap(e.Extra)
		out[i] = e
	}
	return out
}

package call

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/starflow-dev/starflow/operators"
	httpop "github.com/starflow-dev/starflow/operators/http"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/starlark/builtins"
)

// runtimeKey is the thread-local key of the task instance a run-time
// thread works for.
const runtimeKey = "starflow.call.task"

// taskEnv is what the run-time modules need of the running task.
type taskEnv struct {
	ctx  context.Context
	call *operators.Call
	sql  *sqlop.Pools // nil: a connection per call
}

// envOf returns the task a thread runs for, or an error naming fn when
// the thread is not one of CallFunction's (a DAG file being parsed).
func envOf(thread *starlark.Thread, fn string) (*taskEnv, error) {
	if e, ok := thread.Local(runtimeKey).(*taskEnv); ok {
		return e, nil
	}
	return nil, fmt.Errorf("%s: only available inside a task function while its task runs, not while a DAG file is parsed", fn)
}

// Modules returns the run-time modules of task functions by name, for
// loader.Options.RuntimeModules:
//
//   - http: request(method, url, ...), get(url, ...), post(url, ...),
//     put, patch and delete, each returning a response struct with
//     status_code, reason, url, text, headers, ok and json();
//   - sql: query(conn_id, query, parameters=None) → a list of dicts and
//     execute(conn_id, query, parameters=None) → the rows affected.
//
// Their functions work in the threads CallFunction runs, with the task's
// connections and its context (execution_timeout cancels them); called
// while a DAG file is parsed they fail, as time.now() does.
func Modules() map[string]starlark.StringDict {
	h := starlark.StringDict{"request": builtins.Safe("http.request", httpRequest)}
	for _, m := range []string{"get", "post", "put", "patch", "delete"} {
		method := strings.ToUpper(m)
		h[m] = builtins.Safe("http."+m, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return doHTTP(thread, fn.Name(), method, args, kwargs)
		})
	}
	s := starlark.StringDict{
		"query":   builtins.Safe("sql.query", sqlQuery),
		"execute": builtins.Safe("sql.execute", sqlExecute),
	}
	h.Freeze()
	s.Freeze()
	return map[string]starlark.StringDict{"http": h, "sql": s}
}

// httpRequest implements http.request(method, url, ...).
func httpRequest(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing argument for method", fn.Name())
	}
	method, ok := args[0].(starlark.String)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter method: got %s, want string", fn.Name(), args[0].Type())
	}
	return doHTTP(thread, fn.Name(), strings.ToUpper(string(method)), args[1:], kwargs)
}

// doHTTP implements the http functions: url, headers=None, params=None,
// data=None, json=None, timeout=None, conn_id=None.
func doHTTP(thread *starlark.Thread, name, method string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		rawURL, connID       string
		headers, params      *starlark.Dict
		data, jsonV, timeout starlark.Value = nil, nil, starlark.None
	)
	if err := starlark.UnpackArgs(name, args, kwargs,
		"url", &rawURL, "headers?", &headers, "params?", &params, "data?", &data, "json?", &jsonV,
		"timeout?", &timeout, "conn_id?", &connID); err != nil {
		return nil, err
	}
	env, err := envOf(thread, name)
	if err != nil {
		return nil, err
	}
	req := &httpop.Request{Method: method, ConnID: connID, Headers: map[string]string{}}
	if headers != nil {
		for _, kv := range headers.Items() {
			k, ok1 := kv[0].(starlark.String)
			v, ok2 := kv[1].(starlark.String)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: for parameter headers: got %s: %s, want string keys and values", name, kv[0].Type(), kv[1].Type())
			}
			req.Headers[string(k)] = string(v)
		}
	}
	if req.URL, err = withQuery(rawURL, params); err != nil {
		return nil, fmt.Errorf("%s: for parameter params: %w", name, err)
	}
	if data != nil && data != starlark.None && jsonV != nil && jsonV != starlark.None {
		return nil, fmt.Errorf("%s: pass data or json, not both", name)
	}
	switch {
	case data != nil && data != starlark.None:
		switch d := data.(type) {
		case starlark.String:
			req.Body = []byte(string(d))
		case starlark.Bytes:
			req.Body = []byte(string(d))
		default:
			return nil, fmt.Errorf("%s: for parameter data: got %s, want string", name, data.Type())
		}
	case jsonV != nil && jsonV != starlark.None:
		x, err := builtins.ToGo(jsonV)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter json: %w", name, err)
		}
		if body, err := json.Marshal(x); err == nil {
			req.Body = body
		} else {
			return nil, fmt.Errorf("%s: for parameter json: %w", name, err)
		}
		if !hasHeader(req.Headers, "Content-Type") {
			req.Headers["Content-Type"] = "application/json"
		}
	}
	if timeout != starlark.None {
		if req.Timeout, err = builtins.DurationArg(timeout); err != nil {
			return nil, fmt.Errorf("%s: for parameter timeout: %w", name, err)
		}
	}
	resp, err := httpop.Do(env.ctx, nil, env.call, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	env.call.Logf("%s %s: %d %s, %d bytes", name, resp.URL, resp.StatusCode, resp.Reason, len(resp.Body))
	return responseValue(resp)
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// withQuery adds params (a dict of strings, numbers or bools) to the
// query string of raw.
func withQuery(raw string, params *starlark.Dict) (string, error) {
	if params == nil || params.Len() == 0 {
		return raw, nil
	}
	q := url.Values{}
	for _, kv := range params.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return "", fmt.Errorf("keys must be strings, got %s", kv[0].Type())
		}
		switch v := kv[1].(type) {
		case starlark.String:
			q.Add(string(k), string(v))
		case starlark.Int, starlark.Float, starlark.Bool:
			q.Add(string(k), v.String())
		default:
			return "", fmt.Errorf("value of %q: got %s, want string, number or bool", string(k), v.Type())
		}
	}
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + q.Encode(), nil
}

// responseValue returns the Starlark struct of a response.
func responseValue(resp *httpop.Response) (starlark.Value, error) {
	headers := starlark.NewDict(len(resp.Header))
	for _, k := range sortedHeaderNames(resp) {
		if err := headers.SetKey(starlark.String(k), starlark.String(strings.Join(resp.Header[k], ", "))); err != nil {
			return nil, err
		}
	}
	jsonFn := starlark.NewBuiltin("json", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs("response.json", args, kwargs); err != nil {
			return nil, err
		}
		v, err := resp.JSON()
		if err != nil {
			return nil, fmt.Errorf("response.json: %w", err)
		}
		return builtins.FromGo(v)
	})
	return starlarkstruct.FromStringDict(starlark.String("http_response"), starlark.StringDict{
		"status_code": starlark.MakeInt(resp.StatusCode),
		"reason":      starlark.String(resp.Reason),
		"url":         starlark.String(resp.URL),
		"ok":          starlark.Bool(resp.StatusCode < 400),
		"text":        starlark.String(resp.Text()),
		"headers":     headers,
		"json":        jsonFn,
	}), nil
}

func sortedHeaderNames(resp *httpop.Response) []string {
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// sqlArgs unpacks conn_id, query and parameters=None of the sql functions.
func sqlArgs(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (connID, query string, params any, err error) {
	var p starlark.Value = starlark.None
	if err = starlark.UnpackArgs(fn.Name(), args, kwargs, "conn_id", &connID, "query", &query, "parameters?", &p); err != nil {
		return "", "", nil, err
	}
	switch p.(type) {
	case starlark.NoneType, *starlark.List, starlark.Tuple, *starlark.Dict:
	default:
		return "", "", nil, fmt.Errorf("%s: for parameter parameters: got %s, want list, dict or None", fn.Name(), p.Type())
	}
	if params, err = builtins.ToGo(p); err != nil {
		return "", "", nil, fmt.Errorf("%s: for parameter parameters: %w", fn.Name(), err)
	}
	return connID, query, params, nil
}

// sqlQuery implements sql.query(conn_id, query, parameters=None).
func sqlQuery(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	connID, query, params, err := sqlArgs(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	env, err := envOf(thread, fn.Name())
	if err != nil {
		return nil, err
	}
	rows, err := env.sql.Query(env.ctx, env.call, connID, query, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	env.call.Logf("%s on %s: %d rows", fn.Name(), connID, len(rows))
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return builtins.FromGo(out)
}

// sqlExecute implements sql.execute(conn_id, query, parameters=None).
func sqlExecute(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	connID, query, params, err := sqlArgs(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	env, err := envOf(thread, fn.Name())
	if err != nil {
		return nil, err
	}
	n, err := env.sql.Exec(env.ctx, env.call, connID, query, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	env.call.Logf("%s on %s: %d rows affected", fn.Name(), connID, n)
	return starlark.MakeInt64(n), nil
}

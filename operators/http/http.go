package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	nethttp "net/http"

	"github.com/starflow-dev/starflow/operators"
)

// Kind is the operator kind of http tasks.
const Kind = "http"

// Methods are the HTTP methods the operator accepts.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// Operator sends one HTTP request per try.
type Operator struct {
	// Client sends the requests; nil means http.DefaultClient.
	Client *nethttp.Client
}

var (
	_ operators.Operator  = (*Operator)(nil)
	_ operators.Specified = (*Operator)(nil)
)

// New returns an http operator with the default client.
func New() *Operator { return &Operator{} }

// Register adds a new http operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// Spec describes the arguments of http tasks.
func (*Operator) Spec() operators.Spec {
	return operators.Spec{
		Kind:       Kind,
		Doc:        "Sends an HTTP request; the response text (or response_filter's result) is the XCom.",
		Positional: 1,
		Params: []operators.Param{
			{Name: "url", Type: operators.ParamString, Required: true, Templated: true,
				Doc: "the URL, or a path relative to the connection's base URL when http_conn_id is given"},
			{Name: "method", Type: operators.ParamString, Default: "GET", Choices: Methods,
				Doc: "the HTTP method"},
			{Name: "http_conn_id", Type: operators.ParamString,
				Doc: "a connection giving the base URL (host, schema, port), basic auth (login, password) and headers (extras)"},
			{Name: "headers", Type: operators.ParamDict, Templated: true, XCom: true,
				Doc: "request headers; the values are templates (or t.output)"},
			{Name: "data", Type: operators.ParamString, Templated: true, XCom: true,
				Doc: "the request body, a template, or t.output (a value that is not a string is sent as its JSON text)"},
			{Name: "json", Type: operators.ParamAny, Templated: true, XCom: true,
				Doc: "a JSON-like value sent as the JSON body (strings in it are templates; t.output anywhere in it)"},
			{Name: "response_check", Type: operators.ParamFunction,
				Doc: "a function called with the response dict; a falsy result fails the try"},
			{Name: "response_filter", Type: operators.ParamFunction,
				Doc: "a function called with the response dict; its result is the XCom instead of the text"},
			{Name: "timeout", Type: operators.ParamDuration,
				Doc: "how long the request may take, body included (default: no limit besides execution_timeout)"},
			{Name: "log_response", Type: operators.ParamBool, Default: false,
				Doc: "write the first KiB of the response body to the task log"},
		},
	}
}

// Execute sends the request and checks the response. A status of 400 or
// more, a transport error, a timeout or a falsy response_check fails the
// try (retries apply); a malformed task fails it for good.
func (o *Operator) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	if c.Task == nil {
		return nil, operators.Fail(errors.New("http: the call has no task"))
	}
	spec := o.Spec()
	args, err := spec.Args(c.Task.Config)
	if err != nil {
		return nil, err
	}
	if err := args.Render(ctx, c); err != nil {
		return nil, err
	}
	if err := args.Resolve(ctx, c); err != nil {
		return nil, err
	}
	req := &Request{
		Method:  args.String("method"),
		URL:     args.String("url"),
		ConnID:  args.String("http_conn_id"),
		Timeout: args.Duration("timeout"),
		Headers: map[string]string{},
	}
	for k, v := range args.Dict("headers") {
		s, ok := v.(string)
		if !ok {
			return nil, operators.Fail(fmt.Errorf("http: headers[%q] must be a string, got %T", k, v))
		}
		req.Headers[k] = s
	}
	switch {
	case args.Has("data") && args.Has("json"):
		return nil, operators.Fail(errors.New("http: pass data or json, not both"))
	case args.Has("data"):
		req.Body = []byte(args.String("data"))
	case args.Has("json"):
		body, err := json.Marshal(args.Value("json"))
		if err != nil {
			return nil, operators.Fail(fmt.Errorf("http: json: %w", err))
		}
		req.Body = body
		if !hasHeader(req.Headers, "Content-Type") {
			req.Headers["Content-Type"] = "application/json"
		}
	}

	target := req.URL
	if req.ConnID != "" {
		target = fmt.Sprintf("%s (connection %s)", req.URL, req.ConnID)
	}
	c.Logf("Calling HTTP method %s on %s", req.Method, target)
	resp, err := Do(ctx, o.Client, c, req)
	if err != nil {
		return nil, err
	}
	c.Logf("Response: %d %s, %d bytes", resp.StatusCode, resp.Reason, len(resp.Body))
	if resp.StatusCode >= 400 {
		c.Logf("Response body: %s", Excerpt(resp.Body))
		return nil, &StatusError{Method: req.Method, URL: resp.URL, StatusCode: resp.StatusCode, Reason: resp.Reason}
	}
	if args.Bool("log_response") {
		c.Logf("Response body: %s", Excerpt(resp.Body))
	}

	var dict map[string]any
	if args.Has("response_check") || args.Has("response_filter") {
		if c.Functions == nil {
			return nil, operators.Fail(errors.New("http: response_check and response_filter need a function runner"))
		}
		dict = resp.Dict()
	}
	if args.Has("response_check") {
		ok, err := c.Functions.CallFunction(ctx, c, args.String("response_check"), []any{dict}, nil)
		if err != nil {
			return nil, fmt.Errorf("http: response_check: %w", err)
		}
		if !operators.Truthy(ok) {
			return nil, fmt.Errorf("http: response_check returned %s", operators.PyRepr(ok))
		}
	}
	if args.Has("response_filter") {
		v, err := c.Functions.CallFunction(ctx, c, args.String("response_filter"), []any{dict}, nil)
		if err != nil {
			return nil, fmt.Errorf("http: response_filter: %w", err)
		}
		return operators.Success(v), nil
	}
	return operators.Success(resp.Text()), nil
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if nethttp.CanonicalHeaderKey(k) == name {
			return true
		}
	}
	return false
}
